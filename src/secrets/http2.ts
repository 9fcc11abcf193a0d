/**
 * HTTP/2 request rewriting for the secrets guard (guest → upstream). Header blocks (HEADERS + CONTINUATION) are
 * collected (bounded), HPACK-decoded, substituted and re-encoded without the dynamic table; DATA frames stream
 * through one scanner per stream (a placeholder split across frames is found) and leave as new DATA frames whose
 * lengths match what they carry; padding is dropped. Every other frame passes unchanged.
 *
 * Flow control: when a substitution makes a stream's bytes longer (or dropped padding makes them shorter), the
 * difference is owed; the upstream's WINDOW_UPDATE frames to the guest are reduced by what is owed (or raised by
 * the credit), so the guest's idea of each window comes back in step with the real one (see
 * {@link Http2RequestRewriter.fromUpstream}).
 *
 * @packageDocumentation
 */
import { encodeHeaders, HpackDecoder, HpackError } from "./hpack.js";
import type { HeaderField } from "./hpack.js";
import { isCredentialHeader, rewriteBasicCredentials } from "./basic-auth.js";
import { PlaceholderScanner } from "./scanner.js";
import type { ScanPiece } from "./scanner.js";
import { BlockSignal, renderJoined } from "./substitute.js";
import type { PlaceholderResolver } from "./substitute.js";

/** Bounds of the HTTP/2 rewriter. */
export const HTTP2_LIMITS = {
  /** One header block (all its HEADERS and CONTINUATION fragments). */
  headerBlock: 64 * 1024,
  /** A non-DATA frame's payload (buffered whole). */
  controlFrame: 64 * 1024,
  /** Streams with state (open request bodies) at once. */
  streams: 1024,
  /** Largest frame payload we send: the minimum every peer accepts (SETTINGS_MAX_FRAME_SIZE default). */
  outFrame: 16_384,
} as const;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const CONTINUATION = 0x9;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const MAX_WINDOW = 2 ** 31 - 1;

interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
}

interface DataFrame {
  readonly header: FrameHeader;
  /** Payload bytes still to read (data and padding). */
  remaining: number;
  /** Padding at the end of the payload; undefined until the pad length byte is read. */
  padding: number | undefined;
}

interface HeaderBlock {
  readonly stream: number;
  readonly flags: number;
  readonly priority: Buffer | undefined;
  readonly fragments: Buffer[];
  size: number;
}

function parseHeader(bytes: Buffer): FrameHeader {
  return {
    length: bytes.readUIntBE(0, 3),
    type: bytes[3] ?? 0,
    flags: bytes[4] ?? 0,
    stream: bytes.readUInt32BE(5) & 0x7fffffff,
  };
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** Rewrites one HTTP/2 connection's client side. */
export class Http2RequestRewriter {
  readonly #placeholders: readonly Uint8Array[];
  readonly #resolve: PlaceholderResolver;
  readonly #decoder = new HpackDecoder();
  #prefaceSeen = 0;
  #pending: Buffer = Buffer.alloc(0);
  #data: DataFrame | undefined;
  #block: HeaderBlock | undefined;
  readonly #scanners = new Map<number, PlaceholderScanner>();
  /** Bytes owed per stream (0 = the connection): positive when more was sent upstream than the guest counted. */
  readonly #owed = new Map<number, number>();
  readonly #upstream = new UpstreamFrames((stream, increment) => this.#adjustWindow(stream, increment));

  constructor(placeholders: readonly Uint8Array[], resolve: PlaceholderResolver) {
    this.#placeholders = placeholders;
    this.#resolve = resolve;
  }

  /** Guest bytes in; bytes for upstream out. Throws {@link BlockSignal}. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#prefaceSeen < PREFACE.length) {
      const take = Math.min(PREFACE.length - this.#prefaceSeen, data.length);
      const part = data.subarray(0, take);
      if (!part.equals(PREFACE.subarray(this.#prefaceSeen, this.#prefaceSeen + take))) {
        throw new BlockSignal("not an HTTP/2 connection preface");
      }
      out.push(Buffer.from(part));
      this.#prefaceSeen += take;
      data = data.subarray(take);
    }
    while (data.length > 0) data = this.#step(data, out);
    return out;
  }

  /** The guest finished sending. */
  end(): Uint8Array[] {
    if (this.#data !== undefined || this.#block !== undefined || this.#pending.length > 0) {
      throw new BlockSignal("the guest ended the connection in the middle of an HTTP/2 frame");
    }
    return [];
  }

  /**
   * Upstream bytes bound for the guest: passed through, except WINDOW_UPDATE frames, whose increments are
   * reduced by what a longer substitution used of the window (or raised by the credit a shorter one left).
   */
  fromUpstream(chunk: Uint8Array): Uint8Array[] {
    return this.#upstream.push(chunk);
  }

  #step(data: Buffer, out: Uint8Array[]): Buffer {
    if (this.#data !== undefined) return this.#dataBytes(this.#data, data, out);
    const need = this.#pending.length < 9 ? 9 : 9 + parseHeader(this.#pending).length;
    const take = Math.min(need - this.#pending.length, data.length);
    this.#pending = Buffer.concat([this.#pending, data.subarray(0, take)]);
    const rest = data.subarray(take);
    if (this.#pending.length < 9) return rest;
    const header = parseHeader(this.#pending);
    if (this.#block !== undefined && header.type !== CONTINUATION) {
      throw new BlockSignal("a frame inside a header block");
    }
    if (header.type === DATA) {
      this.#pending = Buffer.alloc(0);
      this.#data = {
        header,
        remaining: header.length,
        padding: (header.flags & PADDED) === 0 ? 0 : undefined,
      };
      if (header.length === 0) this.#finishData(this.#data, out);
      return rest;
    }
    const limit =
      header.type === HEADERS || header.type === CONTINUATION
        ? HTTP2_LIMITS.headerBlock
        : HTTP2_LIMITS.controlFrame;
    if (header.length > limit)
      throw new BlockSignal(`an HTTP/2 frame of type ${header.type} over ${limit} bytes`);
    if (this.#pending.length < 9 + header.length) return rest;
    const payload = this.#pending.subarray(9);
    this.#pending = Buffer.alloc(0);
    this.#control(header, payload, out);
    return rest;
  }

  #control(header: FrameHeader, payload: Buffer, out: Uint8Array[]): void {
    if (header.type === HEADERS) {
      let body = payload;
      let padding = 0;
      if (header.flags & PADDED) {
        padding = body[0] ?? 0;
        body = body.subarray(1);
      }
      const priority = header.flags & PRIORITY ? Buffer.from(body.subarray(0, 5)) : undefined;
      if (priority !== undefined) body = body.subarray(5);
      if (padding > body.length) throw new BlockSignal("HTTP/2 padding longer than the frame");
      body = body.subarray(0, body.length - padding);
      this.#block = {
        stream: header.stream,
        flags: header.flags,
        priority,
        fragments: [Buffer.from(body)],
        size: body.length,
      };
    } else if (header.type === CONTINUATION) {
      const block = this.#block;
      if (block === undefined || block.stream !== header.stream)
        throw new BlockSignal("a stray CONTINUATION frame");
      block.size += payload.length;
      if (block.size > HTTP2_LIMITS.headerBlock)
        throw new BlockSignal(`a header block over ${HTTP2_LIMITS.headerBlock} bytes`);
      block.fragments.push(Buffer.from(payload));
    } else {
      if (header.type === RST_STREAM) this.#forget(header.stream);
      out.push(frame(header.type, header.flags, header.stream, payload));
      return;
    }
    if ((header.flags & END_HEADERS) !== 0 && this.#block !== undefined) this.#finishBlock(this.#block, out);
  }

  #finishBlock(block: HeaderBlock, out: Uint8Array[]): void {
    this.#block = undefined;
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(Buffer.concat(block.fragments));
    } catch (err) {
      if (err instanceof HpackError) throw new BlockSignal(`malformed HPACK: ${err.message}`);
      throw err;
    }
    const scanner = new PlaceholderScanner(this.#placeholders);
    const rewritten = fields.map((field) => {
      const name = scanner.scanAll(field.name);
      const value = scanner.scanAll(field.value);
      const changed = [...name, ...value].some((p) => p.kind === "match");
      if (!changed && isCredentialHeader(field.name.toString("latin1"))) {
        const text = field.value.toString("latin1");
        const basic = rewriteBasicCredentials(text, scanner, this.#resolve);
        if (basic !== text) return { name: field.name, value: Buffer.from(basic, "latin1"), sensitive: true };
      }
      if (!changed) return field;
      // A substituted value is sensitive: intermediaries must never index it.
      return {
        name: renderJoined(name, this.#resolve),
        value: renderJoined(value, this.#resolve),
        sensitive: true,
      };
    });
    const encoded = encodeHeaders(rewritten);
    const first = block.priority === undefined ? Buffer.alloc(0) : block.priority;
    const room = HTTP2_LIMITS.outFrame - first.length;
    const flags = (block.flags & (END_STREAM | PRIORITY)) | (encoded.length <= room ? END_HEADERS : 0);
    out.push(frame(HEADERS, flags, block.stream, Buffer.concat([first, encoded.subarray(0, room)])));
    for (let at = room; at < encoded.length; at += HTTP2_LIMITS.outFrame) {
      const end = Math.min(at + HTTP2_LIMITS.outFrame, encoded.length);
      out.push(
        frame(
          CONTINUATION,
          end === encoded.length ? END_HEADERS : 0,
          block.stream,
          encoded.subarray(at, end),
        ),
      );
    }
    if (block.flags & END_STREAM) this.#forget(block.stream);
  }

  #dataBytes(state: DataFrame, data: Buffer, out: Uint8Array[]): Buffer {
    let rest = data;
    if (state.padding === undefined) {
      state.padding = rest[0] ?? 0;
      state.remaining -= 1;
      rest = rest.subarray(1);
      if (state.padding > state.remaining) throw new BlockSignal("HTTP/2 padding longer than the frame");
      this.#owe(state.header.stream, -(1 + state.padding));
    }
    const dataLeft = state.remaining - state.padding;
    const take = Math.min(dataLeft, rest.length);
    if (take > 0) {
      this.#emitData(
        state.header.stream,
        this.#scanner(state.header.stream).push(rest.subarray(0, take)),
        0,
        out,
      );
    }
    // Padding is read and dropped.
    const skip = Math.min(state.remaining - take, rest.length - take);
    state.remaining -= take + skip;
    if (state.remaining === 0) this.#finishData(state, out);
    return rest.subarray(take + skip);
  }

  #finishData(state: DataFrame, out: Uint8Array[]): void {
    this.#data = undefined;
    if ((state.header.flags & END_STREAM) === 0) return;
    const stream = state.header.stream;
    this.#emitData(stream, this.#scanner(stream).end(), END_STREAM, out);
    this.#forget(stream);
  }

  /** Sends `pieces` as DATA frames of at most {@link HTTP2_LIMITS.outFrame}; `flags` on the last. */
  #emitData(stream: number, pieces: readonly ScanPiece[], flags: number, out: Uint8Array[]): void {
    let consumed = 0;
    for (const piece of pieces) {
      consumed +=
        piece.kind === "bytes" ? piece.bytes.length : (this.#placeholders[piece.index]?.length ?? 0);
    }
    const bytes = renderJoined(pieces, this.#resolve);
    this.#owe(stream, bytes.length - consumed);
    if (bytes.length === 0 && flags === 0) return;
    let at = 0;
    do {
      const end = Math.min(at + HTTP2_LIMITS.outFrame, bytes.length);
      out.push(frame(DATA, end === bytes.length ? flags : 0, stream, bytes.subarray(at, end)));
      at = end;
    } while (at < bytes.length);
  }

  #scanner(stream: number): PlaceholderScanner {
    let scanner = this.#scanners.get(stream);
    if (scanner === undefined) {
      if (this.#scanners.size >= HTTP2_LIMITS.streams) throw new BlockSignal("too many open HTTP/2 streams");
      scanner = new PlaceholderScanner(this.#placeholders);
      this.#scanners.set(stream, scanner);
    }
    return scanner;
  }

  #forget(stream: number): void {
    this.#scanners.delete(stream);
    this.#owed.delete(stream);
  }

  #owe(stream: number, bytes: number): void {
    if (bytes === 0) return;
    for (const key of [0, stream]) this.#owed.set(key, (this.#owed.get(key) ?? 0) + bytes);
  }

  /** The increment the guest gets for an upstream WINDOW_UPDATE of `increment` (0: drop the frame). */
  #adjustWindow(stream: number, increment: number): number {
    const owed = this.#owed.get(stream) ?? 0;
    if (owed === 0) return increment;
    const given = Math.min(MAX_WINDOW, Math.max(0, increment - owed));
    const remaining = owed - (increment - given);
    if (remaining === 0 || (stream !== 0 && !this.#scanners.has(stream))) this.#owed.delete(stream);
    else this.#owed.set(stream, remaining);
    return given;
  }
}

/**
 * The upstream → guest direction: frames pass through untouched (DATA payloads as slices, without copying),
 * except WINDOW_UPDATE, whose increment `adjust` may change (0 drops the frame).
 */
class UpstreamFrames {
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
