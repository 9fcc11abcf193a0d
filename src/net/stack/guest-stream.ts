/**
 * A guest TCP connection as a Node `Duplex`, for host code that wants a stream (the TLS interception runs
 * `node:tls` over it). Guest bytes are acknowledged to the guest (`consumed`) only once the stream's reader took
 * them, so a slow reader closes the guest's window; writes wait while the connection's bounded send buffer is
 * full. The guest's FIN ends the readable side; `end()` sends our FIN; `destroy()` resets the guest.
 *
 * @packageDocumentation
 */
import { Duplex } from "node:stream";
import type { TcpCloseReason } from "../tcp/types.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

/** Guest bytes buffered by the stream before the guest's window is held closed. */
const READ_HIGH_WATER = 256 * 1024;

/** One guest connection as a stream; {@link GuestStream.endpoint} is what the connection reports to. */
export class GuestStream extends Duplex {
  /** The connection's host side: give it to the relay (`onConnect` returns it). */
  readonly endpoint: TcpEndpoint;
  readonly #handle: TcpHandle;
  /** Bytes pushed but not yet acknowledged to the guest (the reader is behind). */
  #unacknowledged = 0;
  #pendingWrite: { data: Uint8Array; callback: (error?: Error | null) => void } | undefined;
  #gone = false;
  /** Called once the handshake completed (the connection was accepted and the guest acknowledged). */
  onEstablished: (() => void) | undefined;

  constructor(handle: TcpHandle) {
    super({ allowHalfOpen: true, readableHighWaterMark: READ_HIGH_WATER });
    this.#handle = handle;
    this.endpoint = {
      established: () => this.onEstablished?.(),
      data: (bytes) => {
        this.#fromGuest(bytes);
      },
      end: () => {
        if (!this.#gone) this.push(null);
      },
      writable: () => {
        this.#retryWrite();
      },
      closed: (reason) => {
        this.#closed(reason);
      },
    };
  }

  /** The handle of the guest connection (accept or refuse the SYN with it). */
  get handle(): TcpHandle {
    return this.#handle;
  }

  #fromGuest(bytes: Uint8Array): void {
    if (this.#gone || this.destroyed) return;
    if (this.push(bytes)) this.#handle.consumed(bytes.length);
    else this.#unacknowledged += bytes.length;
  }

  #retryWrite(): void {
    const pending = this.#pendingWrite;
    if (pending === undefined) return;
    this.#pendingWrite = undefined;
    this.#write(pending.data, pending.callback);
  }

  #closed(reason: TcpCloseReason): void {
    if (this.#gone) return;
    this.#gone = true;
    const pending = this.#pendingWrite;
    this.#pendingWrite = undefined;
    if (reason === "normal") {
      // Everything was delivered both ways: let the reader drain what it has; the stream then closes itself.
      pending?.callback(new Error("the guest closed the connection"));
      this.push(null);
    } else {
      const error = new Error(`guest connection ${reason}`);
      pending?.callback(error);
      this.destroy(error);
    }
  }

  // Duplex internals.

  override _read(): void {
    if (this.#unacknowledged === 0 || this.#gone) return;
    const bytes = this.#unacknowledged;
    this.#unacknowledged = 0;
    this.#handle.consumed(bytes);
  }

  override _write(
    chunk: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#write(chunk, callback);
  }

  #write(chunk: Uint8Array, callback: (error?: Error | null) => void): void {
    if (this.#gone) {
      callback(new Error("the guest connection is gone"));
      return;
    }
    const taken = this.#handle.write(chunk);
    if (taken === chunk.length) callback();
    else this.#pendingWrite = { data: chunk.subarray(taken), callback };
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#gone) this.#handle.close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#gone) {
      this.#gone = true;
      this.#handle.abort();
    }
    callback(error);
  }
}
