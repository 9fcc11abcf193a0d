/**
 * HTTP/2 request rewriting for the secrets guard (guest → upstream). Header blocks (HEADERS + CONTINUATION) are
 * collected (bounded), HPACK-decoded, substituted and re-encoded without the dynamic table; DATA frames stream
 * through one scanner per stream (a placeholder split across frames is found) and leave as new DATA frames whose
 * lengths match what they carry; padding is dropped. Every other frame passes unchanged. A request whose HEADERS
 * carry a content-length is held with its body up to {@link HTTP2_LIMITS.heldBody} bytes, so the length can be
 * fixed (servers check it); past that the request goes on with the length fixed so far, and a later substitution
 * that would change it blocks the connection.
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
import { FlowDebt } from "./http2-flow.js";
import { rewriteFields } from "./http2-headers.js";
import { PlaceholderScanner } from "./scanner.js";
import type { ScanPiece } from "./scanner.js";
import { BlockSignal, renderJoined } from "./substitute.js";
import {
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  frame,
  HEADERS,
  headerFrames,
  PADDED,
  parseHeader,
  PREFACE,
  PRIORITY,
  RST_STREAM,
  UpstreamFrames,
} from "./http2-frames.js";
import type { FrameHeader } from "./http2-frames.js";
import type { PlaceholderResolver } from "./substitute.js";

/** Bounds of the HTTP/2 rewriter. */
export const HTTP2_LIMITS = {
  /** One header block (all its HEADERS and CONTINUATION fragments). */
  headerBlock: 64 * 1024,
  /** A non-DATA frame's payload (buffered whole). */
  controlFrame: 64 * 1024,
  /** Streams with state (open request bodies) at once. */
  streams: 1024,
  /**
   * A request body with a content-length is held (its HEADERS too) up to this many bytes, so that the length
   * can be fixed when a substitution changes it; past it the request goes on with the length fixed so far.
   */
  heldBody: 16 * 1024,
  /** All bodies held on one connection: well under the 65535-byte initial window, so holding never stalls it. */
  heldConnection: 32 * 1024,
  /** Largest frame payload we send: the minimum every peer accepts (SETTINGS_MAX_FRAME_SIZE default). */
  outFrame: 16_384,
} as const;

interface DataFrame {
  readonly header: FrameHeader;
  /** Payload bytes still to read (data and padding). */
  remaining: number;
  /** Padding at the end of the payload; undefined until the pad length byte is read. */
  padding: number | undefined;
}

/** A request whose HEADERS carried a content-length, held with its body so far. */
interface HeldRequest {
  readonly stream: number;
  readonly fields: HeaderField[];
  readonly priority: Buffer | undefined;
  readonly declared: number;
  readonly data: Buffer[];
  size: number;
  /** Bytes substitutions added (or removed) so far. */
  extra: number;
}

interface HeaderBlock {
  readonly stream: number;
  readonly flags: number;
  readonly priority: Buffer | undefined;
  readonly fragments: Buffer[];
  size: number;
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
  readonly #held = new Map<number, HeldRequest>();
  #heldBytes = 0;
  /** Streams whose content-length went upstream: a substitution that changes their length blocks. */
  readonly #fixedLength = new Set<number>();
  /** Bytes owed per stream (0 = the connection): positive when more was sent upstream than the guest counted. */
  readonly #debt = new FlowDebt();
  readonly #upstream = new UpstreamFrames((stream, increment) => this.#debt.adjust(stream, increment));

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
      // A held request the guest cancels never reached upstream: its RST_STREAM goes nowhere either.
      const held = header.type === RST_STREAM && this.#held.has(header.stream);
      if (header.type === RST_STREAM) this.#forget(header.stream);
      if (!held) out.push(frame(header.type, header.flags, header.stream, payload));
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
    const rewritten = rewriteFields(fields, new PlaceholderScanner(this.#placeholders), this.#resolve);
    const held = this.#held.get(block.stream);
    if (held !== undefined) this.#release(held, out); // trailers: the body is complete
    const opening =
      held === undefined && !this.#scanners.has(block.stream) && !this.#fixedLength.has(block.stream);
    const length = rewritten.find((f) => f.name.toString("latin1") === "content-length");
    if (opening && (block.flags & END_STREAM) === 0 && length !== undefined) {
      const declared = length.value.toString("latin1");
      if (!/^\d{1,15}$/.test(declared)) throw new BlockSignal("malformed content-length");
      this.#held.set(block.stream, {
        stream: block.stream,
        fields: rewritten,
        priority: block.priority,
        declared: Number(declared),
        data: [],
        size: 0,
        extra: 0,
      });
      return;
    }
    this.#releaseBelow(block.stream, out);
    out.push(
      ...headerFrames(
        block.stream,
        block.flags,
        block.priority,
        encodeHeaders(rewritten),
        HTTP2_LIMITS.outFrame,
      ),
    );
    if (block.flags & END_STREAM) this.#forget(block.stream);
  }

  #dataBytes(state: DataFrame, data: Buffer, out: Uint8Array[]): Buffer {
    let rest = data;
    if (state.padding === undefined) {
      state.padding = rest[0] ?? 0;
      state.remaining -= 1;
      rest = rest.subarray(1);
      if (state.padding > state.remaining) throw new BlockSignal("HTTP/2 padding longer than the frame");
      this.#debt.owe(state.header.stream, -(1 + state.padding));
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
    const extra = bytes.length - consumed;
    this.#debt.owe(stream, extra);
    const held = this.#held.get(stream);
    if (held !== undefined) {
      held.data.push(bytes);
      held.size += bytes.length;
      held.extra += extra;
      this.#heldBytes += bytes.length;
      const full = held.size > HTTP2_LIMITS.heldBody || this.#heldBytes > HTTP2_LIMITS.heldConnection;
      if ((flags & END_STREAM) !== 0 || full) this.#release(held, out, flags);
      return;
    }
    if (extra !== 0 && this.#fixedLength.has(stream)) {
      throw new BlockSignal(
        `a placeholder past the first ${HTTP2_LIMITS.heldBody} bytes of an HTTP/2 request body with a content-length cannot be substituted`,
      );
    }
    this.#dataFrames(stream, bytes, flags, out);
  }

  #dataFrames(stream: number, bytes: Buffer, flags: number, out: Uint8Array[]): void {
    if (bytes.length === 0 && flags === 0) return;
    let at = 0;
    do {
      const end = Math.min(at + HTTP2_LIMITS.outFrame, bytes.length);
      out.push(frame(DATA, end === bytes.length ? flags : 0, stream, bytes.subarray(at, end)));
      at = end;
    } while (at < bytes.length);
  }

  /**
   * Sends a held request: its HEADERS with the content-length its body has so far, then that body (`flags` on the
   * last DATA frame). Lower held streams go first: a stream's HEADERS must not follow a higher stream's.
   */
  #release(held: HeldRequest, out: Uint8Array[], flags = 0): void {
    this.#releaseBelow(held.stream, out);
    this.#held.delete(held.stream);
    this.#heldBytes -= held.size;
    const length = Buffer.from(String(held.declared + held.extra));
    const fields = held.fields.map((f) =>
      f.name.toString("latin1") === "content-length" ? { ...f, value: length } : f,
    );
    out.push(...headerFrames(held.stream, 0, held.priority, encodeHeaders(fields), HTTP2_LIMITS.outFrame));
    if ((flags & END_STREAM) === 0) this.#fixedLength.add(held.stream);
    this.#dataFrames(held.stream, Buffer.concat(held.data), flags, out);
  }

  #releaseBelow(stream: number, out: Uint8Array[]): void {
    const lower = [...this.#held.values()]
      .filter((h) => h.stream < stream)
      .sort((a, b) => a.stream - b.stream);
    for (const held of lower) this.#release(held, out);
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
    const held = this.#held.get(stream);
    if (held !== undefined) this.#heldBytes -= held.size;
    this.#held.delete(stream);
    this.#fixedLength.delete(stream);
    this.#scanners.delete(stream);
    this.#debt.forget(stream);
  }
}
