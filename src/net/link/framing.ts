/**
 * The framing of QEMU's `-netdev stream` backend: each Ethernet frame is preceded by its length as a 4-byte
 * big-endian integer (no virtio-net header, no FCS). The decoder never buffers more than one maximal frame.
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";

/** Bytes of the length prefix. */
export const STREAM_LENGTH_BYTES = 4;

/** Smallest frame accepted (an Ethernet header). */
const MIN_FRAME = 14;

/**
 * Splits the byte stream from QEMU into frames. A length outside `[14, maxFrame]` is a {@link PacketError}: the
 * stream can no longer be trusted to be in sync, so the caller drops the link.
 */
export class StreamFrameDecoder {
  readonly #maxFrame: number;
  #pending: Buffer = Buffer.alloc(0);

  constructor(maxFrame: number) {
    this.#maxFrame = maxFrame;
  }

  /** Bytes held waiting for the rest of a frame (at most `4 + maxFrame`). */
  get buffered(): number {
    return this.#pending.length;
  }

  /** Feeds bytes; returns the complete frames (views into the input, or into one copied buffer). */
  push(chunk: Buffer): Buffer[] {
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= STREAM_LENGTH_BYTES) {
      const length = data.readUInt32BE(offset);
      if (length < MIN_FRAME || length > this.#maxFrame) {
        throw new PacketError(`stream frame length ${length} outside ${MIN_FRAME}..${this.#maxFrame}`);
      }
      if (data.length - offset - STREAM_LENGTH_BYTES < length) break;
      const start = offset + STREAM_LENGTH_BYTES;
      frames.push(data.subarray(start, start + length));
      offset = start + length;
    }
    data = data.subarray(offset);
    // Copy the remainder so a small tail never pins a large chunk.
    this.#pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return frames;
  }
}

/** Prefixes a frame with its length. */
export function encodeStreamFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(STREAM_LENGTH_BYTES + frame.length);
  out.writeUInt32BE(frame.length, 0);
  out.set(frame, STREAM_LENGTH_BYTES);
  return out;
}
