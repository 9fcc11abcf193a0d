/**
 * SEGMENT ARRIVES (RFC 9293 section 3.10.7) for synchronized states: sequence check, RST and SYN handling
 * (RFC 5961 challenge ACKs), ACK processing, in-order data (out-of-order data is dropped and answered with a
 * duplicate ACK), FIN.
 *
 * @packageDocumentation
 */
import { TcpFlag } from "../packet/tcp.js";
import { acknowledge, updateSendWindow } from "./ack.js";
import { enterTimeWait, finishClose, hostCloseTransition } from "./close.js";
import { emit, output, receiveWindow, sendSyn } from "./output.js";
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLe } from "./seq.js";
import type { Tcb } from "./tcb.js";
import type { IncomingSegment } from "./types.js";

const RECEIVING_STATES = new Set(["established", "fin-wait-1", "fin-wait-2"]);

function segmentLength(seg: IncomingSegment): number {
  return seg.payload.length + (seg.flags & TcpFlag.syn ? 1 : 0) + (seg.flags & TcpFlag.fin ? 1 : 0);
}

/** RFC 9293 acceptability test; with a zero window, a segment at exactly rcvNxt still counts for its ACK. */
function acceptable(tcb: Tcb, seg: IncomingSegment): boolean {
  const window = receiveWindow(tcb);
  const length = segmentLength(seg);
  if (window === 0) return seg.seq === tcb.rcvNxt;
  if (length === 0) return seqInWindow(seg.seq, tcb.rcvNxt, window);
  return (
    seqInWindow(seg.seq, tcb.rcvNxt, window) || seqInWindow(seqAdd(seg.seq, length - 1), tcb.rcvNxt, window)
  );
}

function challengeAck(tcb: Tcb): void {
  tcb.ackPending = true;
}

/** Handles the ACK field; returns false when the segment must be dropped. */
function processAck(tcb: Tcb, seg: IncomingSegment): boolean {
  if (tcb.state === "syn-received") {
    if (!seqGt(seg.ack, tcb.sndUna) || !seqLe(seg.ack, tcb.sndMax)) {
      emit(tcb, { seq: seg.ack, flags: TcpFlag.rst });
      return false;
    }
    tcb.state = "established";
    tcb.out.events.push({ type: "established" });
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = seg.ack;
    tcb.sndWnd = seg.window << tcb.sndShift;
    if (tcb.finQueued) hostCloseTransition(tcb);
  }
  if (seqGt(seg.ack, tcb.sndMax)) {
    tcb.ackPending = true;
    return false;
  }
  tcb.probes = 0;
  acknowledge(tcb, seg);
  updateSendWindow(tcb, seg);
  return tcb.state !== "closed";
}

function processData(tcb: Tcb, seg: IncomingSegment): void {
  if (seg.payload.length === 0 || !RECEIVING_STATES.has(tcb.state)) return;
  tcb.ackPending = true;
  const offset = seqDiff(tcb.rcvNxt, seg.seq);
  if (offset < 0 || offset >= seg.payload.length) return;
  const take = Math.min(seg.payload.length - offset, receiveWindow(tcb));
  if (take <= 0) return;
  tcb.out.events.push({ type: "data", data: seg.payload.slice(offset, offset + take) });
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, take);
  tcb.rcvUnconsumed += take;
}

function processFin(tcb: Tcb, seg: IncomingSegment): void {
  if (!(seg.flags & TcpFlag.fin) || tcb.guestFinReceived) return;
  if (seqAdd(seg.seq, seg.payload.length) !== tcb.rcvNxt) return;
  tcb.rcvNxt = seqAdd(tcb.rcvNxt, 1);
  tcb.guestFinReceived = true;
  tcb.ackPending = true;
  tcb.out.events.push({ type: "end" });
  const ourFinAcked = tcb.finSeq !== undefined && seqGt(tcb.sndUna, tcb.finSeq);
  if (tcb.state === "established") tcb.state = "close-wait";
  else if (tcb.state === "fin-wait-1" && !ourFinAcked) tcb.state = "closing";
  else if (tcb.state === "fin-wait-1" || tcb.state === "fin-wait-2") enterTimeWait(tcb);
}

/** Processes a segment in any synchronized state (syn-received onwards). */
export function segmentArrivesSynchronized(tcb: Tcb, seg: IncomingSegment): void {
  const syn = (seg.flags & TcpFlag.syn) !== 0;
  if (tcb.state === "syn-received" && syn && !(seg.flags & TcpFlag.ack) && seg.seq === tcb.irs) {
    sendSyn(tcb); // the guest did not get our SYN-ACK
    return;
  }
  const retransmittedFin = seg.flags & TcpFlag.fin && seqAdd(seg.seq, seg.payload.length + 1) === tcb.rcvNxt;
  if (tcb.state === "time-wait" && retransmittedFin) enterTimeWait(tcb);
  if (!acceptable(tcb, seg)) {
    if (!(seg.flags & TcpFlag.rst)) tcb.ackPending = true;
    output(tcb);
    return;
  }
  if (seg.flags & TcpFlag.rst) {
    if (seg.seq === tcb.rcvNxt) finishClose(tcb, "reset");
    else challengeAck(tcb);
    output(tcb);
    return;
  }
  if (syn) {
    challengeAck(tcb);
    output(tcb);
    return;
  }
  if (!(seg.flags & TcpFlag.ack)) return;
  if (!processAck(tcb, seg)) {
    output(tcb);
    return;
  }
  processData(tcb, seg);
  processFin(tcb, seg);
  output(tcb);
}
