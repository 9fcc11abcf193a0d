/**
 * Acknowledgement processing of the guest's ACKs: advancing snd.una, freeing the send buffer, RTT samples,
 * the retransmission timer, fast retransmit on three duplicate ACKs, window updates, our FIN being acknowledged.
 *
 * @packageDocumentation
 */
import { enterTimeWait, finishClose } from "./close.js";
import { armRetransmit, effectiveMss, emit } from "./output.js";
import { sampleRtt } from "./rtt.js";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.js";
import { TcpFlag } from "../packet/tcp.js";
import type { Tcb } from "./tcb.js";
import type { IncomingSegment } from "./types.js";

/** Duplicate ACKs that trigger a fast retransmit (RFC 5681). */
const DUP_ACK_THRESHOLD = 3;

function retransmitFirst(tcb: Tcb): void {
  const offset = seqDiff(tcb.sndUna, tcb.queueSeq);
  const length = Math.min(tcb.sendQueue.length - offset, effectiveMss(tcb));
  tcb.rttSeq = undefined;
  if (length > 0) {
    emit(tcb, { seq: tcb.sndUna, flags: TcpFlag.ack, payload: tcb.sendQueue.read(offset, length) });
  } else if (tcb.finSeq === tcb.sndUna) {
    emit(tcb, { seq: tcb.sndUna, flags: TcpFlag.fin | TcpFlag.ack });
  }
}

function onFinAcked(tcb: Tcb): void {
  if (tcb.state === "fin-wait-1") {
    tcb.state = "fin-wait-2";
    tcb.finWait2Deadline = tcb.clock.now() + tcb.options.finWait2TimeoutMs;
  } else if (tcb.state === "closing") {
    enterTimeWait(tcb);
  } else if (tcb.state === "last-ack") {
    finishClose(tcb, "normal");
  }
}

function onNewAck(tcb: Tcb, ack: number): void {
  const dataAcked = Math.max(0, Math.min(seqDiff(ack, tcb.queueSeq), tcb.sendQueue.length));
  tcb.sendQueue.drop(dataAcked);
  tcb.queueSeq = seqAdd(tcb.queueSeq, dataAcked);
  tcb.sndUna = ack;
  if (seqLt(tcb.sndNxt, ack)) tcb.sndNxt = ack;
  if (tcb.rttSeq !== undefined && seqGe(ack, tcb.rttSeq)) {
    tcb.rtt = sampleRtt(tcb.rtt, tcb.clock.now() - tcb.rttStart, tcb.options);
    tcb.rttSeq = undefined;
  }
  tcb.retries = 0;
  tcb.dupAcks = 0;
  tcb.rtxDeadline = undefined;
  if (tcb.sndUna !== tcb.sndMax) armRetransmit(tcb);
  const free = tcb.options.sendBufferSize - tcb.sendQueue.length;
  if (tcb.writeBlocked && (free >= tcb.options.sendBufferSize / 2 || tcb.sendQueue.length === 0)) {
    tcb.writeBlocked = false;
    tcb.out.events.push({ type: "writable" });
  }
  if (tcb.finSeq !== undefined && seqGt(ack, tcb.finSeq)) onFinAcked(tcb);
}

/** Processes the ACK number of an acceptable segment (already checked not to exceed snd.max). */
export function acknowledge(tcb: Tcb, seg: IncomingSegment): void {
  if (seqGt(seg.ack, tcb.sndUna)) {
    onNewAck(tcb, seg.ack);
    return;
  }
  const duplicate =
    seg.ack === tcb.sndUna &&
    seg.payload.length === 0 &&
    !(seg.flags & TcpFlag.fin) &&
    tcb.sndUna !== tcb.sndMax &&
    seg.window << tcb.sndShift === tcb.sndWnd;
  if (!duplicate) return;
  tcb.dupAcks += 1;
  if (tcb.dupAcks === DUP_ACK_THRESHOLD) retransmitFirst(tcb);
}

/** RFC 9293 send-window update rule (SND.WL1 / SND.WL2). */
export function updateSendWindow(tcb: Tcb, seg: IncomingSegment): void {
  if (seqLt(tcb.sndWl1, seg.seq) || (tcb.sndWl1 === seg.seq && seqLe(tcb.sndWl2, seg.ack))) {
    tcb.sndWnd = seg.window << tcb.sndShift;
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = seg.ack;
  }
}
