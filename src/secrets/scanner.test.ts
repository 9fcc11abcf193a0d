import { describe, expect, it } from "vitest";
import { PlaceholderScanner } from "./scanner.js";
import type { ScanPiece } from "./scanner.js";

const KEY = Buffer.from("$MSB_KEY");
const KEY2 = Buffer.from("$MSB_KEY2");
const TOKEN = Buffer.from("%TOKEN%");

/** The stream as text, matches shown as <index>. */
function show(pieces: readonly ScanPiece[]): string {
  return pieces
    .map((p) => (p.kind === "bytes" ? Buffer.from(p.bytes).toString("latin1") : `<${p.index}>`))
    .join("");
}

/** Feeds `text` in the given chunk sizes (cycled) and returns the scanned stream. */
function scanInChunks(scanner: PlaceholderScanner, text: string, sizes: readonly number[]): string {
  const data = Buffer.from(text, "latin1");
  let out = "";
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    const chunk = Buffer.from(data.subarray(at, at + size));
    out += show(scanner.push(chunk));
    chunk.fill(0); // the caller may reuse its buffer once it used the pieces: held bytes must have been copied
    at += size;
    expect(scanner.held).toBeLessThanOrEqual(scanner.maxHeld);
  }
  return out + show(scanner.end());
}

describe("PlaceholderScanner", () => {
  const text = "Authorization: Bearer $MSB_KEY\r\nX: $MSB_KEY2,$MSB_KE,$$MSB_KEY%TOKEN%$MSB_KEY";
  const expected = "Authorization: Bearer <0>\r\nX: <1>,$MSB_KE,$<0><2><0>";

  it("finds every placeholder in one chunk, leftmost-longest", () => {
    expect(show(new PlaceholderScanner([KEY, KEY2, TOKEN]).scanAll(Buffer.from(text)))).toBe(expected);
  });

  it("finds them split at every single point", () => {
    for (let split = 1; split < text.length; split++) {
      const scanner = new PlaceholderScanner([KEY, KEY2, TOKEN]);
      expect(scanInChunks(scanner, text, [split, text.length]), `split at ${split}`).toBe(expected);
    }
  });

  it("finds them fed one byte at a time, and in every chunk size", () => {
    for (let size = 1; size <= 12; size++) {
      expect(scanInChunks(new PlaceholderScanner([KEY, KEY2, TOKEN]), text, [size])).toBe(expected);
    }
    expect(scanInChunks(new PlaceholderScanner([KEY, KEY2, TOKEN]), text, [1, 3, 2, 7])).toBe(expected);
  });

  it("holds back at most the longest placeholder minus one byte, and only a possible start", () => {
    const scanner = new PlaceholderScanner([KEY, KEY2]);
    expect(scanner.maxHeld).toBe(KEY2.length - 1);
    expect(show(scanner.push(Buffer.from("abc$MSB_K")))).toBe("abc");
    expect(scanner.held).toBe(6);
    expect(show(scanner.push(Buffer.from("X")))).toBe("$MSB_KX");
    expect(scanner.held).toBe(0);
    // A complete short placeholder waits while the longer one could still follow.
    expect(show(scanner.push(Buffer.from("$MSB_KEY")))).toBe("");
    expect(show(scanner.push(Buffer.from("!")))).toBe("<0>!");
    expect(show(scanner.push(Buffer.from("$MSB_KEY")))).toBe("");
    expect(show(scanner.end())).toBe("<0>");
  });

  it("passes a stream without placeholders through unchanged", () => {
    const data = Buffer.alloc(100_000, "a$MSB_");
    const scanner = new PlaceholderScanner([KEY]);
    const pieces = [...scanner.push(data), ...scanner.end()];
    expect(Buffer.concat(pieces.map((p) => (p.kind === "bytes" ? p.bytes : Buffer.alloc(0))))).toEqual(data);
  });
});
