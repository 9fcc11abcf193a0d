/**
 * A host client of a published port whose guest port does not listen yet: instead of resetting the client at
 * the guest's first RST, the connection to the guest is tried again, with growing delays, for a bounded time.
 * A server started in the background a moment ago (`python3 -m http.server 8000 &`) then answers the first
 * request. The host socket stays paused (nothing is read from it) until the guest accepts.
 *
 * @packageDocumentation
 */
import type { Socket } from "node:net";
import type { TcpCloseReason } from "../tcp/types.js";
import { SocketBridge } from "../stack/socket-bridge.js";
import type { TcpEndpoint, TcpHandle } from "../stack/tcp-endpoint.js";

/** How long and how often a refused guest connection is tried again. */
export interface InboundRetry {
  /** No attempt starts later than this after the client arrived (0: never retry). */
  readonly windowMs: number;
  /** Delay before the first retry; each later delay doubles, up to {@link maxDelayMs}. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** 5 s: enough for a server started in the background under TCG; at most ~14 attempts. */
export const DEFAULT_INBOUND_RETRY: InboundRetry = Object.freeze({
  windowMs: 5000,
  firstDelayMs: 50,
  maxDelayMs: 500,
});

/** Validates an {@link InboundRetry} (internal option, still checked: a bad one would retry without end). */
export function checkInboundRetry(retry: InboundRetry): InboundRetry {
  const ok = (n: number): boolean => Number.isFinite(n) && n >= 0;
  if (!ok(retry.windowMs) || !ok(retry.maxDelayMs) || !(retry.firstDelayMs > 0) || !ok(retry.firstDelayMs))
    throw new RangeError("inbound retry: windowMs and maxDelayMs >= 0, firstDelayMs > 0");
  return retry;
}

/** The delay before retry number `attempt` (0-based), or undefined when the window is spent. */
export function retryDelay(retry: InboundRetry, attempt: number, elapsedMs: number): number | undefined {
  const delay = Math.min(retry.maxDelayMs, retry.firstDelayMs * 2 ** Math.min(attempt, 30));
  return elapsedMs + delay <= retry.windowMs ? delay : undefined;
}

/**
 * One attempt's host side: before the handshake completes it only waits; once the guest accepts, a
 * {@link SocketBridge} takes over the client socket. A refusal (the guest's RST: nothing listens) calls
 * `onRefused` instead of resetting the client; any other end before the handshake resets it.
 */
export class InboundAttempt implements TcpEndpoint {
  readonly #socket: Socket;
  readonly #handle: TcpHandle;
  readonly #onRefused: () => void;
  #bridge: SocketBridge | undefined;

  constructor(socket: Socket, handle: TcpHandle, onRefused: () => void) {
    this.#socket = socket;
    this.#handle = handle;
    this.#onRefused = onRefused;
  }

  /** True once the guest accepted: the bridge owns the socket. */
  get bridged(): boolean {
    return this.#bridge !== undefined;
  }

  /** The client went away while the guest had not accepted: the guest-side attempt is reset. */
  abandon(): void {
    if (this.#bridge === undefined) this.#handle.abort();
  }

  established(): void {
    this.#bridge = SocketBridge.accepted(this.#socket, this.#handle);
    this.#bridge.established();
  }

  data(bytes: Uint8Array): void {
    this.#bridge?.data(bytes);
  }

  end(): void {
    this.#bridge?.end();
  }

  writable(): void {
    this.#bridge?.writable();
  }

  closed(reason: TcpCloseReason): void {
    if (this.#bridge !== undefined) this.#bridge.closed(reason);
    else if (reason === "refused") this.#onRefused();
    else if (!this.#socket.destroyed) this.#socket.resetAndDestroy();
  }
}
