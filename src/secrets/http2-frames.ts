/**
 * HTTP/2 framing for the secrets guard: frame constants, header parsing and building, and the upstream → guest
 * direction, which passes every frame untouched except WINDOW_UPDATE (its increment may be adjusted).
 *
 * @packageDocumentation
 */

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const DATA = 0x0;
export const HEADERS = 0x1;
export const RST_STREAM = 0x3;
export const CONTINUATION = 0x9;
export const WINDOW_UPDATE = 0x8;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY = 0x20;
export const MAX_WINDOW = 2 ** 31 - 1;

/** A frame's 9-byte header. */
export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
}

/** Parses a frame header (at least 9 bytes). */
export function parseHeader(bytes: Buffer): FrameHeader {
  return {
    length: bytes.readUIntBE(0, 3),
    type: bytes[3] ?? 0,
    flags: bytes[4] ?? 0,
    stream: bytes.readUInt32BE(5) & 0x7fffffff,
  };
}

/** Builds a frame. */
export function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** A header block as HEADERS (+ CONTINUATION) frames of at most `maxFrame` bytes of payload each. */
export function headerFrames(
  stream: number,
  flags: number,
  priority: Buffer | undefined,
  encoded: Buffer,
  maxFrame: number,
): Buffer[] {
  const first = priority ?? Buffer.alloc(0);
  const room = maxFrame - first.length;
  const out = [
    frame(
      HEADERS,
      (flags & (END_STREAM | PRIORITY)) |
        (priority === undefined ? 0 : PRIORITY) |
        (encoded.length <= room ? END_HEADERS : 0),
      stream,
      Buffer.concat([first, encoded.subarray(0, room)]),
    ),
  ];
  for (let at = room; at < encoded.length; at += maxFrame) {
    const end = Math.min(at + maxFrame, encoded.length);
    out.push(
      frame(CONTINUATION, end === encoded.length ? END_HEADERS : 0, stream, encoded.subarray(at, end)),
    );
  }
  return out;
}

/**
 * The upstream → guest direction: frames pass through untouched (DATA payloads as slices, without copying),
 * except WINDOW_UPDATE, whose increment `adjust` may change (0 drops the frame).
 */
export class UpstreamFrames {
  readonly #adjust: (stream: number, increment: number) => number;
  #header: Buffer = Buffer.alloc(0);
  #skip = 0;
  #window: Buffer | undefined;

  constructor(adjust: (stream: number, increment: number) => number) {
    this.#adjust = adjust;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    while (data.length > 0) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, data.length);
        if (this.#window !== undefined) this.#window = Buffer.concat([this.#window, data.subarray(0, take)]);
        else out.push(data.subarray(0, take));
        this.#skip -= take;
        data = data.subarray(take);
        if (this.#skip === 0 && this.#window !== undefined) this.#windowUpdate(this.#window, out);
        continue;
      }
      const take = Math.min(9 - this.#header.length, data.length);
      this.#header = Buffer.concat([this.#header, data.subarray(0, take)]);
      data = data.subarray(take);
      if (this.#header.length < 9) continue;
      const header = parseHeader(this.#header);
      if (header.type === WINDOW_UPDATE && header.length === 4) this.#window = this.#header;
      else out.push(this.#header);
      this.#header = Buffer.alloc(0);
      this.#skip = header.length;
    }
    return out;
  }

  #windowUpdate(frameBytes: Buffer, out: Uint8Array[]): void {
    this.#window = undefined;
    const header = parseHeader(frameBytes);
    const increment = frameBytes.readUInt32BE(9) & 0x7fffffff;
    const given = increment === 0 ? 0 : this.#adjust(header.stream, increment);
    if (increment === 0)
      out.push(frameBytes); // a protocol error the guest must see as it is
    else if (given > 0) {
      const copy = Buffer.from(frameBytes);
      copy.writeUInt32BE(given, 9);
      out.push(copy);
    }
  }
}
