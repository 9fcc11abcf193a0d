/**
 * HTTP/2 flow-control bookkeeping for a rewriting relay. The guest counts the DATA bytes it sent against its
 * windows; upstream counts the bytes we sent. A substitution that makes a body longer (or dropped padding that
 * makes it shorter) leaves the two apart by what is owed, per stream and for the connection (stream 0). The
 * upstream's WINDOW_UPDATE increments to the guest are reduced by what is owed (or raised by a credit), so the
 * guest's windows come back in step with the real ones.
 *
 * @packageDocumentation
 */
import { MAX_WINDOW } from "./http2-frames.js";

/** Bytes owed per stream and for the connection. */
export class FlowDebt {
  readonly #owed = new Map<number, number>();

  /** `bytes` more (negative: fewer) were sent upstream on `stream` than the guest counted. */
  owe(stream: number, bytes: number): void {
    if (bytes === 0) return;
    for (const key of [0, stream]) this.#owed.set(key, (this.#owed.get(key) ?? 0) + bytes);
  }

  /** The stream is done: its own debt no longer matters (the connection's stays). */
  forget(stream: number): void {
    if (stream !== 0) this.#owed.delete(stream);
  }

  /** What is owed on `stream` (0: the connection). */
  owed(stream: number): number {
    return this.#owed.get(stream) ?? 0;
  }

  /** The increment the guest gets for an upstream WINDOW_UPDATE of `increment` on `stream` (0: drop the frame). */
  adjust(stream: number, increment: number): number {
    const owed = this.owed(stream);
    if (owed === 0) return increment;
    const given = Math.min(MAX_WINDOW, Math.max(0, increment - owed));
    const remaining = owed - (increment - given);
    if (remaining === 0) this.#owed.delete(stream);
    else this.#owed.set(stream, remaining);
    return given;
  }
}
