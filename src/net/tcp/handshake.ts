/**
 * Opening a connection: the guest's SYN (passive open, decision pending), accept / refuse, our SYN (active
 * open, for published ports) and the guest's SYN-ACK to it.
 *
 * @packageDocumentation
 */
import { TcpFlag } from "../packet/tcp.js";
import { finishClose, hostCloseTransition } from "./close.js";
import { emit, output, sendSyn } from "./output.js";
import { sampleRtt } from "./rtt.js";
import { seqAdd } from "./seq.js";
import { DEFAULT_SEND_MSS, MIN_SEND_MSS, type Tcb, windowShiftFor } from "./tcb.js";
import type { IncomingSegment } from "./types.js";

function negotiate(tcb: Tcb, seg: IncomingSegment): void {
  tcb.sndMss = Math.max(MIN_SEND_MSS, seg.options.mss ?? DEFAULT_SEND_MSS);
  if (seg.options.windowScale !== undefined) {
    tcb.windowScaling = true;
    tcb.sndShift = seg.options.windowScale;
    tcb.rcvShift = windowShiftFor(tcb.options.receiveBufferSize);
  } else {
    tcb.windowScaling = false;
    tcb.sndShift = 0;
    tcb.rcvShift = 0;
  }
}

/** True for a segment that may open a connection: SYN without ACK, RST or FIN. */
export function isConnectionRequest(seg: IncomingSegment): boolean {
  return (seg.flags & (TcpFlag.syn | TcpFlag.ack | TcpFlag.rst | TcpFlag.fin)) === TcpFlag.syn;
}

/** Records the guest's SYN in a fresh control block (state `syn-pending`) and emits `connect`. */
export function receiveSyn(tcb: Tcb, syn: IncomingSegment): void {
  tcb.irs = syn.seq;
  tcb.rcvNxt = seqAdd(syn.seq, 1);
  negotiate(tcb, syn);
  tcb.sndWnd = syn.window;
  tcb.sndWl1 = syn.seq;
  tcb.sndWl2 = tcb.iss;
  tcb.decisionDeadline = tcb.clock.now() + tcb.options.decisionTimeoutMs;
  tcb.out.events.push({ type: "connect" });
}

/** The caller allowed the flow and its host socket is connected: answer SYN-ACK. */
export function acceptSyn(tcb: Tcb): void {
  tcb.decisionDeadline = undefined;
  tcb.state = "syn-received";
  sendSyn(tcb);
}

/** The flow is denied or the host connect failed: RST the guest's SYN and close. */
export function refuseSyn(tcb: Tcb, reason: "refused" | "timeout" | "aborted"): void {
  emit(tcb, { seq: 0, flags: TcpFlag.rst | TcpFlag.ack });
  finishClose(tcb, reason);
}

/** A segment in `syn-pending`: only a RST matters (the guest gave up); retransmitted SYNs are ignored. */
export function segmentArrivesPending(tcb: Tcb, seg: IncomingSegment): void {
  if (seg.flags & TcpFlag.rst && seg.seq === tcb.rcvNxt) finishClose(tcb, "reset");
}

/** Starts an active open: window scaling is offered, the SYN goes out. */
export function openActive(tcb: Tcb): void {
  tcb.rcvShift = windowShiftFor(tcb.options.receiveBufferSize);
  sendSyn(tcb);
}

/** A segment in `syn-sent`: the guest's SYN-ACK establishes; a RST means nothing listens on that port. */
export function segmentArrivesSynSent(tcb: Tcb, seg: IncomingSegment): void {
  const hasAck = (seg.flags & TcpFlag.ack) !== 0;
  const ackOk = hasAck && seg.ack === tcb.sndNxt;
  if (seg.flags & TcpFlag.rst) {
    if (ackOk) finishClose(tcb, "refused");
    return;
  }
  if (hasAck && !ackOk) {
    emit(tcb, { seq: seg.ack, flags: TcpFlag.rst });
    return;
  }
  if (!(seg.flags & TcpFlag.syn) || !ackOk) return;
  tcb.irs = seg.seq;
  tcb.rcvNxt = seqAdd(seg.seq, 1);
  const offered = tcb.rcvShift;
  negotiate(tcb, seg);
  if (tcb.windowScaling) tcb.rcvShift = offered;
  tcb.sndUna = seg.ack;
  tcb.sndWnd = seg.window;
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = seg.ack;
  if (tcb.rttSeq !== undefined) tcb.rtt = sampleRtt(tcb.rtt, tcb.clock.now() - tcb.rttStart, tcb.options);
  tcb.rttSeq = undefined;
  tcb.rtxDeadline = undefined;
  tcb.retries = 0;
  tcb.state = "established";
  tcb.out.events.push({ type: "established" });
  if (tcb.finQueued) hostCloseTransition(tcb);
  tcb.ackPending = true;
  output(tcb);
}
