/**
 * The reply to a segment that belongs to no connection (RFC 9293 section 3.10.7.1): a RST, unless it is one.
 *
 * @packageDocumentation
 */
import { TcpFlag } from "../packet/tcp.js";
import { seqAdd } from "./seq.js";
import type { IncomingSegment, OutgoingSegment } from "./types.js";

const EMPTY = new Uint8Array(0);

/** The RST answering `segment` for a flow we have no connection for; undefined when `segment` is a RST. */
export function resetFor(segment: IncomingSegment): OutgoingSegment | undefined {
  if (segment.flags & TcpFlag.rst) return undefined;
  if (segment.flags & TcpFlag.ack)
    return { seq: segment.ack, ack: 0, flags: TcpFlag.rst, window: 0, payload: EMPTY };
  const length =
    segment.payload.length + (segment.flags & TcpFlag.syn ? 1 : 0) + (segment.flags & TcpFlag.fin ? 1 : 0);
  return {
    seq: 0,
    ack: seqAdd(segment.seq, length),
    flags: TcpFlag.rst | TcpFlag.ack,
    window: 0,
    payload: EMPTY,
  };
}
