/**
 * The transmission control block: the mutable state of one connection, owned by its `TcpConnection`, and the
 * outbox that collects what one call produces.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import { MAX_WINDOW_SCALE } from "../packet/tcp-options.js";
import { ByteQueue } from "./byte-queue.js";
import type { RttState } from "./rtt.js";
import {
  DEFAULT_TCP_OPTIONS,
  type OutgoingSegment,
  type ResolvedTcpOptions,
  type TcpClock,
  type TcpConnectionOptions,
  type TcpEvent,
  type TcpFlowId,
  type TcpState,
} from "./types.js";

/** Smallest MSS we honour from the guest (Linux's tcp_min_snd_mss is 48): tiny MSS values are a CPU attack. */
export const MIN_SEND_MSS = 64;
/** MSS assumed when the guest sends none (RFC 9293 section 3.7.1). */
export const DEFAULT_SEND_MSS = 536;

/** Segments and events produced during one call. */
export interface Outbox {
  segments: OutgoingSegment[];
  events: TcpEvent[];
}

/** Connection state (RFC 9293 names; windows in bytes, already scaled). */
export interface Tcb {
  state: TcpState;
  readonly flow: TcpFlowId;
  readonly options: ResolvedTcpOptions;
  readonly clock: TcpClock;
  iss: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  /** Highest sequence number sent + 1 (sndNxt moves back on a retransmission timeout). */
  sndMax: number;
  sndWnd: number;
  sndWl1: number;
  sndWl2: number;
  rcvNxt: number;
  /** Largest payload per segment to the guest. */
  sndMss: number;
  /** Shift applied to the guest's window field. */
  sndShift: number;
  /** Shift applied to the window we advertise. */
  rcvShift: number;
  /** Window scaling negotiated (both SYNs carried the option, RFC 7323). */
  windowScaling: boolean;
  /** Data from the host not yet acknowledged by the guest; its first byte has sequence number `queueSeq`. */
  readonly sendQueue: ByteQueue;
  queueSeq: number;
  /** The host side closed: send FIN after the queued data. */
  finQueued: boolean;
  /** Sequence number of our FIN once sent. */
  finSeq: number | undefined;
  /** A write() was short: emit `writable` when space frees. */
  writeBlocked: boolean;
  /** Bytes emitted as `data` events and not yet `consumed()`. */
  rcvUnconsumed: number;
  /** Window (bytes) carried by the last segment we sent. */
  lastAdvertised: number;
  guestFinReceived: boolean;
  ackPending: boolean;
  rtt: RttState;
  retries: number;
  /** Sequence number whose acknowledgement completes the current RTT measurement. */
  rttSeq: number | undefined;
  rttStart: number;
  dupAcks: number;
  rtxDeadline: number | undefined;
  persistDeadline: number | undefined;
  /** Zero-window probes sent without an answer (reset by any acceptable ACK from the guest). */
  probes: number;
  /** Backoff exponent of the persist timer (reset when the window opens). */
  persistShift: number;
  timeWaitDeadline: number | undefined;
  finWait2Deadline: number | undefined;
  decisionDeadline: number | undefined;
  out: Outbox;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigError(`tcp.${name}`, `must be a positive integer, got ${value}`);
  }
}

/** Applies defaults and validates; throws `InvalidConfigError` naming the bad option. */
export function resolveTcpOptions(options: TcpConnectionOptions = {}): ResolvedTcpOptions {
  const resolved = { ...DEFAULT_TCP_OPTIONS, ...options };
  for (const [name, value] of Object.entries(resolved)) checkPositive(name, value);
  if (resolved.mss < MIN_SEND_MSS || resolved.mss > 65495) {
    throw new InvalidConfigError("tcp.mss", `must be from ${MIN_SEND_MSS} to 65495`);
  }
  if (resolved.receiveBufferSize > 0xffff << MAX_WINDOW_SCALE) {
    throw new InvalidConfigError("tcp.receiveBufferSize", "exceeds the largest scaled window");
  }
  return Object.freeze(resolved);
}

/** The window-scale shift that lets `bufferSize` be advertised in 16 bits. */
export function windowShiftFor(bufferSize: number): number {
  let shift = 0;
  while (shift < MAX_WINDOW_SCALE && bufferSize >> shift > 0xffff) shift++;
  return shift;
}

/** A fresh control block in `state`, with initial send sequence number `iss`. */
export function createTcb(init: {
  state: TcpState;
  flow: TcpFlowId;
  options: ResolvedTcpOptions;
  clock: TcpClock;
  iss: number;
}): Tcb {
  const iss = init.iss >>> 0;
  return {
    state: init.state,
    flow: init.flow,
    options: init.options,
    clock: init.clock,
    iss,
    irs: 0,
    sndUna: iss,
    sndNxt: iss,
    sndMax: iss,
    sndWnd: 0,
    sndWl1: 0,
    sndWl2: 0,
    rcvNxt: 0,
    sndMss: DEFAULT_SEND_MSS,
    sndShift: 0,
    rcvShift: 0,
    windowScaling: false,
    sendQueue: new ByteQueue(),
    queueSeq: (iss + 1) >>> 0,
    finQueued: false,
    finSeq: undefined,
    writeBlocked: false,
    rcvUnconsumed: 0,
    lastAdvertised: 0,
    guestFinReceived: false,
    ackPending: false,
    rtt: { srtt: undefined, rttvar: 0, rto: init.options.initialRtoMs },
    retries: 0,
    rttSeq: undefined,
    rttStart: 0,
    dupAcks: 0,
    rtxDeadline: undefined,
    persistDeadline: undefined,
    probes: 0,
    persistShift: 0,
    timeWaitDeadline: undefined,
    finWait2Deadline: undefined,
    decisionDeadline: undefined,
    out: { segments: [], events: [] },
  };
}
