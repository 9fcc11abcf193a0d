/**
 * Vocabulary of the guest-facing TCP machine: flows, segments in and out, host-side events, options.
 *
 * @packageDocumentation
 */
import type { TcpOptions, TcpOptionsInput } from "../packet/tcp-options.js";

/** The 4-tuple of a flow, from the guest's point of view. */
export interface TcpFlowId {
  readonly guestAddress: string;
  readonly guestPort: number;
  /** The address the guest dialled (outbound) or that the host side appears as (inbound). */
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** The parts of a parsed guest segment (`TcpSegment` from the packet codec) the machine reads. */
export interface IncomingSegment {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** Raw window field (unscaled). */
  readonly window: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
}

/** A segment to send to the guest: from `flow.remoteAddress:remotePort` to `flow.guestAddress:guestPort`. */
export interface OutgoingSegment {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** Raw window field (already scaled down). */
  readonly window: number;
  readonly options?: TcpOptionsInput;
  readonly payload: Uint8Array;
}

/** Why a connection ended. */
export type TcpCloseReason =
  /** Both sides closed (or TIME-WAIT expired). */
  | "normal"
  /** The guest sent a valid RST. */
  | "reset"
  /** The caller refused the connection (policy or host connect failure). */
  | "refused"
  /** Retransmissions, zero-window probes, the connect decision or FIN-WAIT-2 timed out. */
  | "timeout"
  /** The host side aborted (`abort()`). */
  | "aborted";

/** Something the host side must act on. Connection-scoped; the flow is in the enclosing {@link TcpOutput}. */
export type TcpEvent =
  /** The guest sent a SYN: decide (policy, host connect) and call `accept()` or `refuse()`. */
  | { readonly type: "connect" }
  /** The three-way handshake completed. */
  | { readonly type: "established" }
  /**
   * In-order bytes from the guest (a copy). Write them to the host socket and call `consumed(n)` once it has
   * taken them: the receive window only reopens as the host drains.
   */
  | { readonly type: "data"; readonly data: Uint8Array }
  /** The guest sent FIN: no more data will come; half-close the host socket's write side. */
  | { readonly type: "end" }
  /** The send buffer has room again after a short `write()`: resume reading the host socket. */
  | { readonly type: "writable" }
  /** The connection is gone (the table has dropped it); destroy the host socket if still open. */
  | { readonly type: "closed"; readonly reason: TcpCloseReason }
  /** A SYN was answered with RST without creating a connection. */
  | { readonly type: "rejected"; readonly reason: "table-full" | "duplicate-flow" };

/** Everything one call produced, for one flow. */
export interface TcpOutput {
  readonly flow: TcpFlowId;
  readonly segments: readonly OutgoingSegment[];
  readonly events: readonly TcpEvent[];
}

/** The result of `write()`: how many bytes were taken, plus the output. */
export interface TcpWriteOutput extends TcpOutput {
  readonly accepted: number;
}

/** A monotonic millisecond clock. Timers are deadlines on this clock, fired by `tick()`. */
export interface TcpClock {
  now(): number;
}

/** TCP connection states (RFC 9293), plus `syn-pending`: SYN received, decision not yet made. */
export type TcpState =
  | "syn-pending"
  | "syn-sent"
  | "syn-received"
  | "established"
  | "fin-wait-1"
  | "fin-wait-2"
  | "closing"
  | "time-wait"
  | "close-wait"
  | "last-ack"
  | "closed";

/** Tunables of a connection; every field has a default. */
export interface TcpConnectionOptions {
  /** Our MSS (default 1460: MTU 1500 minus 40). */
  readonly mss?: number;
  /** Receive buffer: bytes handed to the host side but not yet `consumed()` (default 128 KiB). */
  readonly receiveBufferSize?: number;
  /** Send buffer: bytes written by the host side and not yet acknowledged by the guest (default 128 KiB). */
  readonly sendBufferSize?: number;
  /** Initial retransmission timeout (default 1000 ms). */
  readonly initialRtoMs?: number;
  /** Lower bound of the RTO (default 200 ms). */
  readonly minRtoMs?: number;
  /** Upper bound of the RTO (default 30 s). */
  readonly maxRtoMs?: number;
  /** Consecutive timeouts (retransmissions or unanswered zero-window probes) before RST (default 8). */
  readonly maxRetransmits?: number;
  /** TIME-WAIT duration (default 1000 ms: the link is virtual, no stray segments linger). */
  readonly timeWaitMs?: number;
  /** FIN-WAIT-2 limit when the guest never closes (default 60 s). */
  readonly finWait2TimeoutMs?: number;
  /** How long `syn-pending` waits for accept()/refuse() before RST (default 30 s). */
  readonly decisionTimeoutMs?: number;
}

/** {@link TcpConnectionOptions} with defaults applied. */
export type ResolvedTcpOptions = Required<TcpConnectionOptions>;

/** The defaults of {@link TcpConnectionOptions}. */
export const DEFAULT_TCP_OPTIONS: ResolvedTcpOptions = Object.freeze({
  mss: 1460,
  receiveBufferSize: 128 * 1024,
  sendBufferSize: 128 * 1024,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 30_000,
  maxRetransmits: 8,
  timeWaitMs: 1000,
  finWait2TimeoutMs: 60_000,
  decisionTimeoutMs: 30_000,
});
