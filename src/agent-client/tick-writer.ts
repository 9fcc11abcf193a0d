/**
 * Batches the frames written to a stream within one tick of the event loop into one write.
 */
import type { Writable } from "node:stream";

/**
 * Up to this many bytes, a tick's frames are joined into one buffer and handed over with one `write` (cheaper
 * than a corked `writev`: one chunk through the stream's bookkeeping instead of one per frame). Above it (bulk
 * output), the copy would cost more than it saves, and the frames go out corked, as one `writev`.
 */
const JOIN_LIMIT = 16 * 1024;

/**
 * Writes frames to `stream` so that those written in the same tick go out together, in one write to the kernel.
 * An exec's `exec.start` and its credit grant then cross every hop (SDK, supervisor, QEMU's chardev, the guest's
 * port) as one write: under TCG each write the guest receives costs its one vCPU a wake-up and a read; on the
 * host, each write wakes the reading process. Order is unchanged.
 */
export class TickWriter {
  readonly #stream: Writable;
  #pending: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  /** Writes `frame` (after every frame written before it). */
  write(frame: Buffer): void {
    this.#pending.push(frame);
    this.#bytes += frame.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#onTick);
    }
  }

  /** Hands what this tick wrote to the stream now (before it is destroyed: a pending write would be lost). */
  flush(): void {
    const frames = this.#pending;
    if (frames.length === 0) return;
    const bytes = this.#bytes;
    this.#pending = [];
    this.#bytes = 0;
    const stream = this.#stream;
    if (frames.length === 1 || bytes <= JOIN_LIMIT) {
      stream.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, bytes));
      return;
    }
    stream.cork();
    for (const frame of frames) stream.write(frame);
    stream.uncork();
  }

  readonly #onTick = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
