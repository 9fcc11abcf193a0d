/**
 * HTTP/1.1 request rewriting for the secrets guard: placeholders in the request line, headers, body and trailers
 * are replaced, framing stays right. A Content-Length body up to {@link HTTP1_LIMITS.bufferedBody} is buffered
 * and its length fixed; a larger one streams, and a placeholder in it that would change its length blocks the
 * connection. Chunked bodies stream, re-chunked around what changed. After CONNECT or an Upgrade request the
 * rest of the connection is scanned as raw bytes. Every buffer is bounded; anything malformed blocks.
 *
 * @packageDocumentation
 */
import { isCredentialHeader, rewriteBasicCredentials } from "./basic-auth.js";
import type { BufferBudget } from "./buffer-budget.js";
import { PlaceholderScanner } from "./scanner.js";
import { BlockSignal, render, renderJoined, totalLength } from "./substitute.js";
import type { PlaceholderResolver } from "./substitute.js";

/** Bounds of the HTTP/1 rewriter. */
export const HTTP1_LIMITS = {
  /** Request line and headers (and trailers). */
  head: 64 * 1024,
  /** A Content-Length body this long or shorter is buffered so its length can change. */
  bufferedBody: 1024 * 1024,
  /** A chunk-size line. */
  chunkLine: 4096,
} as const;

type State =
  | { readonly kind: "head" }
  | { readonly kind: "body-buffered"; readonly head: string; remaining: number; readonly parts: Buffer[] }
  | { readonly kind: "body-stream"; remaining: number }
  | { readonly kind: "chunk-size" }
  | { readonly kind: "chunk-data"; remaining: number }
  | { readonly kind: "chunk-crlf" }
  | { readonly kind: "trailers" }
  | { readonly kind: "raw" };

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

/** Rewrites one connection's HTTP/1.x requests (guest → upstream). */
export class Http1RequestRewriter {
  readonly #placeholders: readonly Uint8Array[];
  readonly #resolve: PlaceholderResolver;
  #state: State = { kind: "head" };
  /** Bytes of the current line-oriented element (head, chunk line, trailers) not yet complete. */
  #pending: Buffer = Buffer.alloc(0);
  #body: PlaceholderScanner | undefined;

  readonly #budget: BufferBudget;
  /** Bytes of {@link #budget} this connection holds. */
  #held = 0;

  constructor(placeholders: readonly Uint8Array[], resolve: PlaceholderResolver, budget: BufferBudget) {
    this.#placeholders = placeholders;
    this.#resolve = resolve;
    this.#budget = budget;
  }

  /** The connection is gone: what it held goes back to the budget. */
  close(): void {
    this.#budget.give(this.#held);
    this.#held = 0;
  }

  /** Guest bytes in; bytes for upstream out. Throws {@link BlockSignal}. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    while (data.length > 0) data = this.#step(data, out);
    return out;
  }

  /** The guest finished sending. */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const state = this.#state;
    if (state.kind === "raw") out.push(...this.#flushBody());
    else if (state.kind !== "head" || this.#pending.length > 0) {
      throw new BlockSignal("the guest ended the connection in the middle of an HTTP request");
    }
    return out;
  }

  #scanner(): PlaceholderScanner {
    this.#body ??= new PlaceholderScanner(this.#placeholders);
    return this.#body;
  }

  #flushBody(): Uint8Array[] {
    return render(this.#scanner().end(), this.#resolve);
  }

  /** Consumes a prefix of `data`, appending output; returns the rest. */
  #step(data: Buffer, out: Uint8Array[]): Buffer {
    const state = this.#state;
    switch (state.kind) {
      case "head":
      case "trailers":
        return this.#lines(data, out, state.kind);
      case "chunk-size":
        return this.#chunkLine(data, out);
      case "body-buffered": {
        const take = Math.min(state.remaining, data.length);
        if (!this.#budget.take(take)) {
          throw new BlockSignal(
            `the request bodies held for substitution exceed ${this.#budget.limit} bytes in all`,
          );
        }
        this.#held += take;
        state.parts.push(Buffer.from(data.subarray(0, take)));
        state.remaining -= take;
        if (state.remaining === 0) {
          this.#finishBuffered(state.head, Buffer.concat(state.parts), out);
          this.close();
        }
        return data.subarray(take);
      }
      case "body-stream": {
        const take = Math.min(state.remaining, data.length);
        state.remaining -= take;
        const pieces = this.#scanner().push(data.subarray(0, take));
        if (state.remaining === 0) pieces.push(...this.#scanner().end());
        for (const piece of pieces) {
          if (piece.kind === "bytes") out.push(Buffer.from(piece.bytes));
          else {
            const value = this.#resolve(piece.index);
            if (value.length !== this.#placeholders[piece.index]?.length) {
              throw new BlockSignal(
                `a placeholder in a request body over ${HTTP1_LIMITS.bufferedBody} bytes with a fixed Content-Length cannot be substituted`,
              );
            }
            out.push(value);
          }
        }
        if (state.remaining === 0) this.#state = { kind: "head" };
        return data.subarray(take);
      }
      case "chunk-data": {
        const take = Math.min(state.remaining, data.length);
        state.remaining -= take;
        const chunks = render(this.#scanner().push(data.subarray(0, take)), this.#resolve);
        this.#emitChunk(chunks, out);
        if (state.remaining === 0) this.#state = { kind: "chunk-crlf" };
        return data.subarray(take);
      }
      case "chunk-crlf": {
        const take = Math.min(2 - this.#pending.length, data.length);
        this.#pending = Buffer.concat([this.#pending, data.subarray(0, take)]);
        const rest = data.subarray(take);
        if (this.#pending.length < 2) return rest;
        if (!this.#pending.equals(CRLF))
          throw new BlockSignal("malformed chunked body (no CRLF after a chunk)");
        this.#pending = Buffer.alloc(0);
        this.#state = { kind: "chunk-size" };
        return rest;
      }
      case "raw":
        for (const piece of render(this.#scanner().push(data), this.#resolve)) out.push(Buffer.from(piece));
        return Buffer.alloc(0);
    }
  }

  #emitChunk(chunks: readonly Uint8Array[], out: Uint8Array[]): void {
    const length = totalLength(chunks);
    if (length === 0) return;
    out.push(Buffer.from(`${length.toString(16)}\r\n`), ...chunks.map((c) => Buffer.from(c)), CRLF);
  }

  /** Accumulates a head or trailer section until its blank line. */
  #lines(data: Buffer, out: Uint8Array[], kind: "head" | "trailers"): Buffer {
    const before = this.#pending.length;
    let buffer = before === 0 ? data : Buffer.concat([this.#pending, data]);
    if (kind === "head") {
      // Blank lines before a request line are allowed (RFC 9112 2.2).
      let skip = 0;
      while (buffer.length - skip >= 2 && buffer[skip] === 0x0d && buffer[skip + 1] === 0x0a) skip += 2;
      if (skip > 0) {
        out.push(buffer.subarray(0, skip));
        buffer = buffer.subarray(skip);
      }
    }
    const end = kind === "trailers" && buffer.subarray(0, 2).equals(CRLF) ? 0 : buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (buffer.length > HTTP1_LIMITS.head)
        throw new BlockSignal(`HTTP ${kind} larger than ${HTTP1_LIMITS.head} bytes`);
      this.#pending = Buffer.from(buffer);
      return Buffer.alloc(0);
    }
    const length = end === 0 ? 2 : end + 4;
    if (length > HTTP1_LIMITS.head)
      throw new BlockSignal(`HTTP ${kind} larger than ${HTTP1_LIMITS.head} bytes`);
    const section = buffer.subarray(0, length);
    const rest = Buffer.from(buffer.subarray(length));
    this.#pending = Buffer.alloc(0);
    const scanner = new PlaceholderScanner(this.#placeholders);
    const text = renderJoined(scanner.scanAll(section), this.#resolve)
      .toString("latin1")
      .split("\r\n")
      .map((line) => this.#credentials(line, scanner))
      .join("\r\n");
    if (kind === "trailers") {
      out.push(Buffer.from(text, "latin1"));
      this.#state = { kind: "head" };
    } else this.#startRequest(text, out);
    return rest;
  }

  /** A header line with placeholders inside Basic credentials replaced. */
  #credentials(line: string, scanner: PlaceholderScanner): string {
    const colon = line.indexOf(":");
    if (colon <= 0 || !isCredentialHeader(line.slice(0, colon).trim())) return line;
    return `${line.slice(0, colon + 1)}${rewriteBasicCredentials(line.slice(colon + 1), scanner, this.#resolve)}`;
  }

  #startRequest(head: string, out: Uint8Array[]): void {
    const lines = head.slice(0, -4).split("\r\n");
    const requestLine = lines[0] ?? "";
    const method = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) \S+ HTTP\/1\.[01]$/.exec(requestLine)?.[1];
    if (method === undefined) throw new BlockSignal("malformed HTTP request line");
    let chunked = false;
    let upgrade = method === "CONNECT";
    const lengths = new Set<string>();
    for (const line of lines.slice(1)) {
      if (/^[ \t]/.test(line)) throw new BlockSignal("obsolete header line folding");
      const colon = line.indexOf(":");
      if (colon <= 0) throw new BlockSignal("malformed HTTP header line");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") lengths.add(value);
      else if (name === "transfer-encoding") {
        const codings = value
          .toLowerCase()
          .split(",")
          .map((c) => c.trim());
        if (codings.at(-1) !== "chunked")
          throw new BlockSignal("a request transfer-encoding that does not end in chunked");
        chunked = true;
      } else if (name === "upgrade") upgrade = true;
    }
    if (chunked && lengths.size > 0)
      throw new BlockSignal("a request with both Transfer-Encoding and Content-Length");
    if (lengths.size > 1) throw new BlockSignal("conflicting Content-Length headers");
    const lengthText = [...lengths][0];
    if (lengthText !== undefined && !/^\d{1,15}$/.test(lengthText))
      throw new BlockSignal("malformed Content-Length");
    const length = lengthText === undefined ? 0 : Number(lengthText);
    if (chunked) {
      out.push(Buffer.from(head, "latin1"));
      this.#state = { kind: "chunk-size" };
    } else if (length === 0) {
      out.push(Buffer.from(head, "latin1"));
      this.#state = upgrade ? { kind: "raw" } : { kind: "head" };
    } else if (length <= HTTP1_LIMITS.bufferedBody) {
      this.#state = { kind: "body-buffered", head, remaining: length, parts: [] };
    } else {
      out.push(Buffer.from(head, "latin1"));
      this.#state = { kind: "body-stream", remaining: length };
    }
  }

  /** A buffered body is complete: substitute, fix the length, send head and body. */
  #finishBuffered(head: string, body: Buffer, out: Uint8Array[]): void {
    const rendered = renderJoined(new PlaceholderScanner(this.#placeholders).scanAll(body), this.#resolve);
    const lines = head.slice(0, -4).split("\r\n");
    const rewritten = lines
      // The body was held until complete, so a 100-continue the server sends would come too late to matter.
      .filter((line) => !/^expect\s*:\s*100-continue\s*$/i.test(line))
      .map((line) => (/^content-length\s*:/i.test(line) ? `Content-Length: ${rendered.length}` : line));
    out.push(Buffer.from(`${rewritten.join("\r\n")}\r\n\r\n`, "latin1"), rendered);
    this.#state = { kind: "head" };
  }

  /** A chunk-size line: the next chunk's length, or the last chunk. */
  #chunkLine(data: Buffer, out: Uint8Array[]): Buffer {
    const buffer = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const end = buffer.indexOf(CRLF);
    if (end < 0) {
      if (buffer.length > HTTP1_LIMITS.chunkLine) throw new BlockSignal("chunk-size line too long");
      this.#pending = Buffer.from(buffer);
      return Buffer.alloc(0);
    }
    if (end > HTTP1_LIMITS.chunkLine) throw new BlockSignal("chunk-size line too long");
    const sizeText = buffer.subarray(0, end).toString("latin1").split(";")[0]?.trim() ?? "";
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new BlockSignal("malformed chunk size");
    const size = parseInt(sizeText, 16);
    const rest = Buffer.from(buffer.subarray(end + 2));
    this.#pending = Buffer.alloc(0);
    if (size === 0) {
      this.#emitChunk(this.#flushBody(), out);
      out.push(Buffer.from("0\r\n"));
      this.#state = { kind: "trailers" };
    } else this.#state = { kind: "chunk-data", remaining: size };
    return rest;
  }
}
