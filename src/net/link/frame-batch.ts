/**
 * Frames to QEMU, batched: builders reserve room in a reusable slab and fill it in place; everything reserved
 * during one turn of the event loop goes out in one socket write. No allocation per frame, one syscall per
 * batch. A slab is reused once every write from it has completed; when all slabs are waiting on QEMU, frames
 * are dropped (TCP retransmits them), so the memory held is bounded by `maxQueuedBytes`.
 *
 * @packageDocumentation
 */

/** Writes `bytes` to the socket and calls `done` once the socket no longer needs them. */
export type BatchWriter = (bytes: Buffer, done: () => void) => void;

/** Options of a {@link FrameBatch}. */
export interface FrameBatchOptions {
  /** Size of one slab; the largest frame must fit (default 1 MiB). */
  readonly slabBytes?: number;
  /** Bytes of slabs at most (default 8 MiB): beyond, frames are dropped. */
  readonly maxQueuedBytes?: number;
}

interface Slab {
  readonly bytes: Buffer;
  /** Writes from this slab the socket has not completed. */
  inFlight: number;
}

/** The batching frame writer of one link. */
export class FrameBatch {
  readonly #write: BatchWriter;
  readonly #slabBytes: number;
  readonly #maxSlabs: number;
  readonly #slabs: Slab[] = [];
  #current: Slab | undefined;
  /** Start of the bytes of `#current` not yet handed to the socket. */
  #flushed = 0;
  /** End of the committed bytes of `#current`. */
  #end = 0;
  /** Start of the outstanding reservation, or -1. */
  #reserved = -1;
  #flushQueued = false;
  /** Scratch space handed out while dropping. */
  #scratch: Buffer | undefined;

  constructor(write: BatchWriter, options: FrameBatchOptions = {}) {
    this.#write = write;
    this.#slabBytes = options.slabBytes ?? 1024 * 1024;
    this.#maxSlabs = Math.max(1, Math.floor((options.maxQueuedBytes ?? 8 * 1024 * 1024) / this.#slabBytes));
  }

  /** Bytes of slabs allocated (for tests and metrics). */
  get allocatedBytes(): number {
    return this.#slabs.length * this.#slabBytes;
  }

  /**
   * Room for one frame of `size` bytes, to fill completely and then {@link commit}. When no slab is free the
   * room is scratch space and `commit` reports the frame dropped.
   */
  reserve(size: number): Buffer {
    if (size > this.#slabBytes)
      throw new RangeError(`frame of ${size} bytes exceeds the ${this.#slabBytes}-byte slab`);
    let slab = this.#current;
    if (slab === undefined || this.#end + size > this.#slabBytes) {
      this.#flush();
      slab = this.#nextSlab();
      this.#current = slab;
      this.#flushed = 0;
      this.#end = 0;
    }
    if (slab === undefined) {
      this.#reserved = -1;
      if (this.#scratch === undefined || this.#scratch.length < size)
        this.#scratch = Buffer.allocUnsafe(size);
      return this.#scratch.subarray(0, size);
    }
    this.#reserved = this.#end;
    return slab.bytes.subarray(this.#end, this.#end + size);
  }

  /** Queues the frame last reserved; false when it was dropped. */
  commit(frame: Buffer): boolean {
    const slab = this.#current;
    if (slab === undefined || this.#reserved < 0 || frame.buffer !== slab.bytes.buffer) return false;
    if (frame.byteOffset !== slab.bytes.byteOffset + this.#reserved) return false;
    this.#end = this.#reserved + frame.length;
    this.#reserved = -1;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
    return true;
  }

  /** Queues a copy of a frame built elsewhere; false when it was dropped. */
  append(frame: Uint8Array): boolean {
    const room = this.reserve(frame.length);
    room.set(frame);
    return this.commit(room);
  }

  /** Forgets every slab (the socket is gone). */
  reset(): void {
    this.#slabs.length = 0;
    this.#current = undefined;
    this.#flushed = 0;
    this.#end = 0;
    this.#reserved = -1;
  }

  #flush(): void {
    const slab = this.#current;
    if (slab === undefined || this.#end === this.#flushed) return;
    const bytes = slab.bytes.subarray(this.#flushed, this.#end);
    this.#flushed = this.#end;
    slab.inFlight++;
    this.#write(bytes, () => {
      slab.inFlight--;
    });
  }

  /** A slab with no write in flight (the current one too: it has just been flushed), or a new one. */
  #nextSlab(): Slab | undefined {
    for (const slab of this.#slabs) {
      if (slab.inFlight === 0) return slab;
    }
    if (this.#slabs.length >= this.#maxSlabs) return undefined;
    const slab: Slab = { bytes: Buffer.allocUnsafe(this.#slabBytes), inFlight: 0 };
    this.#slabs.push(slab);
    return slab;
  }
}
