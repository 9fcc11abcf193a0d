/**
 * Batches the frames written to a stream within one tick of the event loop into one write.
 */
import type { Writable } from "node:stream";

/**
 * Writes frames to `stream` so that those written in the same tick go out together: the stream is corked at
 * the first write of a tick and uncorked on the next, so Node hands the kernel one `writev` instead of a write
 * per frame. An exec's `exec.start` and its credit grant then cross every hop (SDK, supervisor, QEMU's
 * chardev, the guest's port) as one write: under TCG each write the guest receives costs its one vCPU a wake-up
 * and a read. Order is unchanged.
 */
export class TickWriter {
  readonly #stream: Writable;
  #corked = false;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  /** Writes `frame` (after every frame written before it). */
  write(frame: Buffer): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#stream.cork();
      process.nextTick(this.#uncork);
    }
    this.#stream.write(frame);
  }

  /** Hands what this tick wrote to the stream now (before it is destroyed: a corked write would be lost). */
  flush(): void {
    if (this.#corked) this.#uncork();
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return; // flushed early
    this.#corked = false;
    this.#stream.uncork();
  };
}
