/**
 * The two sides of a relayed TCP connection: the {@link TcpHandle} the stack gives the host side to drive the
 * guest-facing machine, and the {@link TcpEndpoint} the host side implements to hear from it.
 *
 * @packageDocumentation
 */
import type { TcpCloseReason } from "../tcp/types.js";

/** Drives one guest-facing connection. Every call sends whatever segments it produces at once. */
export interface TcpHandle {
  /** The flow is allowed and the host side is ready: SYN-ACK. */
  accept(): void;
  /** The flow is denied or the host side failed to connect: RST, at once. */
  refuse(): void;
  /** Queues host data for the guest; returns the bytes taken (the rest: wait for `writable`). */
  write(data: Uint8Array): number;
  /** The host side has no more data: FIN after what is queued. */
  close(): void;
  /** The host side failed: RST. */
  abort(): void;
  /** The host side has taken `bytes` of guest data: the guest's window reopens. */
  consumed(bytes: number): void;
}

/** The host side of a connection. */
export interface TcpEndpoint {
  /** The handshake completed. */
  established(): void;
  /** In-order guest bytes (a copy); call `handle.consumed(n)` once taken. */
  data(bytes: Uint8Array): void;
  /** The guest sent FIN. */
  end(): void;
  /** Room in the send buffer again after a short `write`. */
  writable(): void;
  /** The connection is gone. */
  closed(reason: TcpCloseReason): void;
}

/** A host side that ignores every event: for connections refused at once, and ones that never get an answer. */
export const IGNORING_ENDPOINT: TcpEndpoint = Object.freeze({
  established: () => undefined,
  data: () => undefined,
  end: () => undefined,
  writable: () => undefined,
  closed: () => undefined,
});
