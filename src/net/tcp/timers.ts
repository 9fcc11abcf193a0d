/**
 * Timer deadlines of a connection and what happens when they pass: retransmission with exponential backoff
 * (go-back-N from snd.una), zero-window probes, TIME-WAIT, FIN-WAIT-2 and decision timeouts.
 *
 * @packageDocumentation
 */
import { finishClose } from "./close.js";
import { refuseSyn } from "./handshake.js";
import { output, persistInterval, sendReset, sendSyn, sendWindowProbe } from "./output.js";
import { backOff } from "./rtt.js";
import type { Tcb } from "./tcb.js";

/** The earliest pending deadline, if any. */
export function nextDeadline(tcb: Tcb): number | undefined {
  let next: number | undefined;
  for (const deadline of [
    tcb.rtxDeadline,
    tcb.persistDeadline,
    tcb.timeWaitDeadline,
    tcb.finWait2Deadline,
    tcb.decisionDeadline,
  ]) {
    if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
  }
  return next;
}

function abortWithTimeout(tcb: Tcb): void {
  sendReset(tcb);
  finishClose(tcb, "timeout");
}

function onRetransmitTimeout(tcb: Tcb): void {
  tcb.rtxDeadline = undefined;
  if (tcb.retries >= tcb.options.maxRetransmits) {
    abortWithTimeout(tcb);
    return;
  }
  tcb.retries += 1;
  tcb.rtt = backOff(tcb.rtt, tcb.options);
  tcb.rttSeq = undefined;
  tcb.dupAcks = 0;
  if (tcb.state === "syn-received" || tcb.state === "syn-sent") {
    sendSyn(tcb);
    return;
  }
  tcb.sndNxt = tcb.sndUna;
  output(tcb);
}

function onPersistTimeout(tcb: Tcb): void {
  tcb.persistDeadline = undefined;
  if (tcb.probes >= tcb.options.maxRetransmits) {
    abortWithTimeout(tcb);
    return;
  }
  tcb.probes += 1;
  tcb.persistShift += 1;
  sendWindowProbe(tcb);
  tcb.persistDeadline = tcb.clock.now() + persistInterval(tcb);
}

/** Runs every timer whose deadline has passed. */
export function fireTimers(tcb: Tcb): void {
  const now = tcb.clock.now();
  const due = (deadline: number | undefined): boolean => deadline !== undefined && deadline <= now;
  if (due(tcb.decisionDeadline)) refuseSyn(tcb, "timeout");
  if (due(tcb.timeWaitDeadline)) finishClose(tcb, "normal");
  if (due(tcb.finWait2Deadline)) abortWithTimeout(tcb);
  if (due(tcb.rtxDeadline)) onRetransmitTimeout(tcb);
  if (due(tcb.persistDeadline)) onPersistTimeout(tcb);
}
