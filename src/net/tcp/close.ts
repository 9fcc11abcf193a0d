/**
 * State transitions of closing: the host side's close, TIME-WAIT, and the final CLOSED.
 *
 * @packageDocumentation
 */
import type { Tcb } from "./tcb.js";
import type { TcpCloseReason } from "./types.js";

/** The host side closed its write direction: ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK. */
export function hostCloseTransition(tcb: Tcb): void {
  if (tcb.state === "established") tcb.state = "fin-wait-1";
  else if (tcb.state === "close-wait") tcb.state = "last-ack";
}

/** Enters (or restarts) TIME-WAIT; every other timer stops. */
export function enterTimeWait(tcb: Tcb): void {
  tcb.state = "time-wait";
  tcb.rtxDeadline = undefined;
  tcb.persistDeadline = undefined;
  tcb.finWait2Deadline = undefined;
  tcb.timeWaitDeadline = tcb.clock.now() + tcb.options.timeWaitMs;
}

/** Moves to CLOSED, frees the buffers, stops every timer and emits `closed`. Idempotent. */
export function finishClose(tcb: Tcb, reason: TcpCloseReason): void {
  if (tcb.state === "closed") return;
  tcb.state = "closed";
  tcb.sendQueue.drop(tcb.sendQueue.length);
  tcb.ackPending = false;
  tcb.rtxDeadline = undefined;
  tcb.persistDeadline = undefined;
  tcb.timeWaitDeadline = undefined;
  tcb.finWait2Deadline = undefined;
  tcb.decisionDeadline = undefined;
  tcb.out.events.push({ type: "closed", reason });
}
