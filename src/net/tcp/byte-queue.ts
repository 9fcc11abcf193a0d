/**
 * A FIFO of bytes stored in fixed-size blocks: append, read a range by offset, drop from the front.
 * Many tiny appends cost no more than one large one (no per-append chunk). The owner bounds its size.
 *
 * @packageDocumentation
 */

/** Size of one storage block. */
const BLOCK_SIZE = 16 * 1024;

/** Byte FIFO used for the send buffer of a TCP connection. */
export class ByteQueue {
  #blocks: Uint8Array[] = [];
  /** Offset of the first byte in the first block. */
  #head = 0;
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a copy of `bytes`. */
  push(bytes: Uint8Array): void {
    let copied = 0;
    while (copied < bytes.length) {
      const end = this.#head + this.#length;
      const blockIndex = Math.floor(end / BLOCK_SIZE);
      const within = end % BLOCK_SIZE;
      let block = this.#blocks[blockIndex];
      if (block === undefined) {
        block = new Uint8Array(BLOCK_SIZE);
        this.#blocks.push(block);
      }
      const piece = Math.min(BLOCK_SIZE - within, bytes.length - copied);
      block.set(bytes.subarray(copied, copied + piece), within);
      copied += piece;
      this.#length += piece;
    }
  }

  /** Copies up to `count` bytes starting `offset` bytes from the front (fewer if the queue is shorter). */
  read(offset: number, count: number): Uint8Array {
    const start = Math.max(0, offset);
    const size = Math.max(0, Math.min(count, this.#length - start));
    const out = new Uint8Array(size);
    let position = this.#head + start;
    let written = 0;
    while (written < size) {
      const block = this.#blocks[Math.floor(position / BLOCK_SIZE)];
      if (block === undefined) break;
      const within = position % BLOCK_SIZE;
      const piece = Math.min(BLOCK_SIZE - within, size - written);
      out.set(block.subarray(within, within + piece), written);
      written += piece;
      position += piece;
    }
    return out;
  }

  /** Drops up to `count` bytes from the front. */
  drop(count: number): void {
    const n = Math.max(0, Math.min(count, this.#length));
    this.#length -= n;
    this.#head += n;
    if (this.#length === 0) {
      this.#blocks = [];
      this.#head = 0;
      return;
    }
    const whole = Math.floor(this.#head / BLOCK_SIZE);
    if (whole > 0) {
      this.#blocks.splice(0, whole);
      this.#head -= whole * BLOCK_SIZE;
    }
  }
}
