/**
 * A stream-safe placeholder scanner: bytes go in in chunks of any size (one byte at a time included), and come
 * out as runs of plain bytes and matches, exactly as if the whole stream had been scanned at once. A chunk's tail
 * that could still be the start of a placeholder is held back until the next chunk decides it: at most the
 * longest placeholder's length minus one byte. Matching is leftmost-longest.
 *
 * @packageDocumentation
 */

/** A run of the stream: bytes to pass on, or a placeholder (by its index in the scanner's list). */
export type ScanPiece =
  { readonly kind: "bytes"; readonly bytes: Uint8Array } | { readonly kind: "match"; readonly index: number };

/** Scans one byte stream for a fixed set of placeholders. */
export class PlaceholderScanner {
  readonly #patterns: readonly Buffer[];
  /** Pattern indices, longest first (leftmost-longest). */
  readonly #order: readonly number[];
  readonly #firstBytes: readonly number[];
  #held: Buffer = Buffer.alloc(0);

  /** `placeholders` must be non-empty and distinct. */
  constructor(placeholders: readonly Uint8Array[]) {
    if (placeholders.length === 0 || placeholders.some((p) => p.length === 0)) {
      throw new RangeError("a scanner needs non-empty placeholders");
    }
    this.#patterns = placeholders.map((p) => Buffer.from(p));
    this.#order = this.#patterns.map((_, i) => i).sort((a, b) => this.#len(b) - this.#len(a));
    this.#firstBytes = [...new Set(this.#patterns.map((p) => p[0] ?? 0))];
  }

  /** The most bytes {@link push} ever holds back. */
  get maxHeld(): number {
    return this.#len(this.#order[0] ?? 0) - 1;
  }

  /** Bytes currently held back. */
  get held(): number {
    return this.#held.length;
  }

  /** The next chunk of the stream. */
  push(chunk: Uint8Array): ScanPiece[] {
    if (chunk.length === 0) return [];
    const data =
      this.#held.length === 0
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
        : Buffer.concat([this.#held, chunk]);
    return this.#scan(data, false);
  }

  /** The stream ended: everything held back, decided. */
  end(): ScanPiece[] {
    const data = this.#held;
    this.#held = Buffer.alloc(0);
    return data.length === 0 ? [] : this.#scan(data, true);
  }

  /** Scans a complete buffer that is not part of a stream (a header block): never holds back. */
  scanAll(data: Uint8Array): ScanPiece[] {
    return this.#scan(Buffer.from(data.buffer, data.byteOffset, data.length), true);
  }

  #len(index: number): number {
    return this.#patterns[index]?.length ?? 0;
  }

  #scan(data: Buffer, final: boolean): ScanPiece[] {
    const pieces: ScanPiece[] = [];
    let emitted = 0;
    let pos = 0;
    this.#held = Buffer.alloc(0);
    for (;;) {
      const at = this.#nextCandidate(data, pos);
      if (at < 0) break;
      const found = this.#matchAt(data, at, final);
      if (found === "partial") {
        if (at > emitted) pieces.push({ kind: "bytes", bytes: data.subarray(emitted, at) });
        // Copied: the caller may reuse the chunk's memory once push returns.
        this.#held = Buffer.from(data.subarray(at));
        return pieces;
      }
      if (found === undefined) {
        pos = at + 1;
        continue;
      }
      if (at > emitted) pieces.push({ kind: "bytes", bytes: data.subarray(emitted, at) });
      pieces.push({ kind: "match", index: found });
      emitted = pos = at + this.#len(found);
    }
    if (emitted < data.length) pieces.push({ kind: "bytes", bytes: data.subarray(emitted) });
    return pieces;
  }

  #nextCandidate(data: Buffer, from: number): number {
    let best = -1;
    for (const byte of this.#firstBytes) {
      const at = data.indexOf(byte, from);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  /** The longest pattern matching at `at`; "partial" when a longer one could still match with more bytes. */
  #matchAt(data: Buffer, at: number, final: boolean): number | "partial" | undefined {
    const available = data.length - at;
    for (const index of this.#order) {
      const pattern = this.#patterns[index];
      if (pattern === undefined) continue;
      if (available >= pattern.length) {
        if (data.compare(pattern, 0, pattern.length, at, at + pattern.length) === 0) return index;
      } else if (!final && data.compare(pattern, 0, available, at, data.length) === 0) {
        return "partial";
      }
    }
    return undefined;
  }
}
