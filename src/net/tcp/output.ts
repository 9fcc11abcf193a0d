/**
 * Everything that puts segments in the outbox: SYN / SYN-ACK, data within the guest's window, FIN, ACKs,
 * RSTs and zero-window probes, plus the timers that sending arms.
 *
 * @packageDocumentation
 */
import { TcpFlag } from "../packet/tcp.js";
import { seqAdd, seqDiff, seqGt } from "./seq.js";
import type { Tcb } from "./tcb.js";
import type { TcpOptionsInput } from "../packet/tcp-options.js";

const EMPTY = new Uint8Array(0);

/** States in which (re)sending data is possible: synchronized and our FIN not yet acknowledged. */
const DATA_STATES = new Set(["established", "close-wait", "fin-wait-1", "closing", "last-ack"]);
/** States in which our FIN goes out once the data has. */
const FIN_STATES = new Set(["fin-wait-1", "closing", "last-ack"]);

/** Bytes the guest may send us now: the receive buffer minus what the host side has not consumed. */
export function receiveWindow(tcb: Tcb): number {
  return Math.max(0, tcb.options.receiveBufferSize - tcb.rcvUnconsumed);
}

/** Largest payload per segment: the guest's MSS bounded by ours. */
export function effectiveMss(tcb: Tcb): number {
  return Math.min(tcb.sndMss, tcb.options.mss);
}

/** Appends one segment, stamping ack and window. */
export function emit(
  tcb: Tcb,
  segment: { seq: number; flags: number; payload?: Uint8Array; options?: TcpOptionsInput },
): void {
  const syn = (segment.flags & TcpFlag.syn) !== 0;
  const window = syn
    ? Math.min(receiveWindow(tcb), 0xffff)
    : Math.min(receiveWindow(tcb) >> tcb.rcvShift, 0xffff);
  const hasAck = (segment.flags & TcpFlag.ack) !== 0;
  tcb.lastAdvertised = syn ? window : window << tcb.rcvShift;
  if (hasAck) tcb.ackPending = false;
  tcb.out.segments.push({
    seq: segment.seq >>> 0,
    ack: hasAck ? tcb.rcvNxt : 0,
    flags: segment.flags,
    window,
    ...(segment.options === undefined ? {} : { options: segment.options }),
    payload: segment.payload ?? EMPTY,
  });
}

/** Arms the retransmission timer if it is not running. */
export function armRetransmit(tcb: Tcb): void {
  tcb.rtxDeadline ??= tcb.clock.now() + tcb.rtt.rto;
}

/** Sends (or resends) our SYN (active open) or SYN-ACK (passive open) and arms the retransmission timer. */
export function sendSyn(tcb: Tcb): void {
  const passive = tcb.state === "syn-received";
  // Active open always offers window scaling; a SYN-ACK carries it only when the guest's SYN did.
  const options: TcpOptionsInput =
    tcb.windowScaling || !passive
      ? { mss: tcb.options.mss, windowScale: tcb.rcvShift }
      : { mss: tcb.options.mss };
  if (tcb.sndMax === tcb.iss) {
    tcb.rttSeq = seqAdd(tcb.iss, 1);
    tcb.rttStart = tcb.clock.now();
  }
  emit(tcb, { seq: tcb.iss, flags: passive ? TcpFlag.syn | TcpFlag.ack : TcpFlag.syn, options });
  tcb.sndNxt = seqAdd(tcb.iss, 1);
  tcb.sndMax = tcb.sndNxt;
  armRetransmit(tcb);
}

/** Sends RST (with ACK) at `sndNxt`. */
export function sendReset(tcb: Tcb): void {
  emit(tcb, { seq: tcb.sndNxt, flags: TcpFlag.rst | TcpFlag.ack });
}

/** Sends a zero-window probe: an ACK carrying the already-acknowledged sequence number `sndUna - 1`. */
export function sendWindowProbe(tcb: Tcb): void {
  emit(tcb, { seq: seqAdd(tcb.sndUna, -1), flags: TcpFlag.ack });
}

function sendData(tcb: Tcb): boolean {
  let sent = false;
  for (;;) {
    const offset = seqDiff(tcb.sndNxt, tcb.queueSeq);
    const available = tcb.sendQueue.length - offset;
    const usable = tcb.sndWnd - seqDiff(tcb.sndNxt, tcb.sndUna);
    if (available <= 0 || usable <= 0) return sent;
    const length = Math.min(available, usable, effectiveMss(tcb));
    const flags = TcpFlag.ack | (length === available ? TcpFlag.psh : 0);
    if (tcb.rttSeq === undefined && tcb.sndNxt === tcb.sndMax) {
      tcb.rttSeq = seqAdd(tcb.sndNxt, length);
      tcb.rttStart = tcb.clock.now();
    }
    emit(tcb, { seq: tcb.sndNxt, flags, payload: tcb.sendQueue.read(offset, length) });
    tcb.sndNxt = seqAdd(tcb.sndNxt, length);
    if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
    sent = true;
  }
}

function sendFinIfDue(tcb: Tcb): boolean {
  if (!FIN_STATES.has(tcb.state)) return false;
  const allDataSent = seqDiff(tcb.sndNxt, tcb.queueSeq) === tcb.sendQueue.length;
  if (!allDataSent || (tcb.finSeq !== undefined && tcb.sndNxt !== tcb.finSeq)) return false;
  tcb.finSeq = tcb.sndNxt;
  emit(tcb, { seq: tcb.sndNxt, flags: TcpFlag.fin | TcpFlag.ack });
  tcb.sndNxt = seqAdd(tcb.sndNxt, 1);
  if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
  return true;
}

/** The current zero-window probe interval: the RTO doubled per probe, up to the maximum RTO. */
export function persistInterval(tcb: Tcb): number {
  return Math.min(tcb.rtt.rto * 2 ** tcb.persistShift, tcb.options.maxRtoMs);
}

function updatePersistTimer(tcb: Tcb): void {
  const unsent = tcb.sendQueue.length - seqDiff(tcb.sndNxt, tcb.queueSeq) > 0;
  if (tcb.sndWnd === 0 && unsent && tcb.sndNxt === tcb.sndUna) {
    tcb.persistDeadline ??= tcb.clock.now() + persistInterval(tcb);
  } else {
    tcb.persistDeadline = undefined;
    tcb.persistShift = 0;
  }
}

/**
 * Sends what can be sent now: data within the guest's window, then our FIN when due, else a pending ACK.
 * Arms the retransmission timer while anything is in flight and the persist timer when a zero window blocks data.
 */
export function output(tcb: Tcb): void {
  if (DATA_STATES.has(tcb.state)) {
    sendData(tcb);
    sendFinIfDue(tcb);
    if (tcb.sndNxt !== tcb.sndUna) armRetransmit(tcb);
    updatePersistTimer(tcb);
  }
  if (tcb.ackPending && tcb.state !== "closed" && tcb.state !== "syn-pending") {
    emit(tcb, { seq: tcb.sndNxt, flags: TcpFlag.ack });
  }
}
