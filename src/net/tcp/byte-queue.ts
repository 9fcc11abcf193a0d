/**
 * A FIFO of bytes in one ring buffer: append (a copy), read a range by offset, drop from the front. The ring
 * grows by doubling as needed and is reused, so a steady stream allocates nothing; many tiny appends cost no
 * more than one large one. The owner bounds its size.
 *
 * @packageDocumentation
 */

/** First ring size. */
const INITIAL_CAPACITY = 16 * 1024;

/** Byte FIFO used for the send buffer of a TCP connection. */
export class ByteQueue {
  #ring: Uint8Array = new Uint8Array(0);
  /** Index of the first byte in the ring. */
  #head = 0;
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a copy of `bytes`. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#reserve(this.#length + bytes.length);
    const capacity = this.#ring.length;
    const tail = (this.#head + this.#length) % capacity;
    const first = Math.min(bytes.length, capacity - tail);
    this.#ring.set(bytes.subarray(0, first), tail);
    if (first < bytes.length) this.#ring.set(bytes.subarray(first), 0);
    this.#length += bytes.length;
  }

  /**
   * Up to `count` bytes starting `offset` bytes from the front (fewer if the queue is shorter). A view into the
   * ring when the range is contiguous, which stays valid until the next `push` or `drop`; a copy otherwise.
   */
  read(offset: number, count: number): Uint8Array {
    const start = Math.max(0, offset);
    const size = Math.max(0, Math.min(count, this.#length - start));
    if (size === 0) return new Uint8Array(0);
    const capacity = this.#ring.length;
    const from = (this.#head + start) % capacity;
    if (from + size <= capacity) return this.#ring.subarray(from, from + size);
    const out = new Uint8Array(size);
    const first = capacity - from;
    out.set(this.#ring.subarray(from), 0);
    out.set(this.#ring.subarray(0, size - first), first);
    return out;
  }

  /** Drops up to `count` bytes from the front. */
  drop(count: number): void {
    const n = Math.max(0, Math.min(count, this.#length));
    this.#length -= n;
    this.#head = this.#length === 0 ? 0 : (this.#head + n) % this.#ring.length;
  }

  /** Grows the ring (keeping the bytes in order) until `needed` bytes fit. */
  #reserve(needed: number): void {
    const capacity = this.#ring.length;
    if (needed <= capacity) return;
    let next = Math.max(INITIAL_CAPACITY, capacity);
    while (next < needed) next *= 2;
    const ring = new Uint8Array(next);
    if (this.#length > 0) {
      const first = Math.min(this.#length, capacity - this.#head);
      ring.set(this.#ring.subarray(this.#head, this.#head + first), 0);
      ring.set(this.#ring.subarray(0, this.#length - first), first);
    }
    this.#ring = ring;
    this.#head = 0;
  }
}
