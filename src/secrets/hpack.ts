/**
 * A small HPACK codec (RFC 7541) for the guest's request headers. The decoder follows the guest's encoder
 * (static table, dynamic table with size updates, Huffman strings), bounded in table size, string length and
 * header list size. The encoder never touches the dynamic table: each header is an indexed static entry or a
 * literal "without indexing" (or "never indexed"), so the upstream decoder's table stays empty and nothing has
 * to be kept in step with it.
 *
 * @packageDocumentation
 */
import { HuffmanDecoder } from "./hpack-huffman.js";

/** One header field. */
export interface HeaderField {
  readonly name: Buffer;
  readonly value: Buffer;
  /** Sent as "never indexed" (sensitive): stays so when re-encoded. */
  readonly sensitive: boolean;
}

/** Bounds of the decoder. */
export const HPACK_LIMITS = {
  /** Largest dynamic table the guest may ask for (the default is 4096). */
  maxTableSize: 64 * 1024,
  /** Sum of name + value + 32 of one header list (as SETTINGS_MAX_HEADER_LIST_SIZE counts). */
  maxListSize: 256 * 1024,
  /** Fields in one header list. */
  maxFields: 1000,
} as const;

const STATIC: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** An HPACK block the decoder refuses (malformed or over a bound). */
export class HpackError extends Error {}

/** Reads an HPACK integer with an `prefix`-bit prefix at `pos`; returns [value, next position]. */
export function readInteger(data: Uint8Array, pos: number, prefix: number): [number, number] {
  const first = data[pos];
  if (first === undefined) throw new HpackError("truncated integer");
  const max = (1 << prefix) - 1;
  let value = first & max;
  let at = pos + 1;
  if (value < max) return [value, at];
  for (let shift = 0; ; shift += 7) {
    const byte = data[at++];
    if (byte === undefined) throw new HpackError("truncated integer");
    if (shift > 21) throw new HpackError("integer too large");
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
  }
}

/** Writes an HPACK integer: `flags` in the high bits of the first byte, `prefix` bits for the value. */
export function writeInteger(out: number[], value: number, prefix: number, flags: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Decodes the guest's header blocks, one connection's worth of state. */
export class HpackDecoder {
  readonly #huffman = new HuffmanDecoder();
  /** Newest first. */
  #table: HeaderField[] = [];
  #tableSize = 0;
  #maxSize = 4096;

  /** Decodes one complete header block. Throws {@link HpackError}. */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let pos = 0;
    while (pos < block.length) {
      const byte = block[pos] ?? 0;
      let field: HeaderField;
      if (byte & 0x80) {
        const [index, next] = readInteger(block, pos, 7);
        pos = next;
        field = this.#entry(index);
      } else if ((byte & 0xe0) === 0x20) {
        if (fields.length > 0) throw new HpackError("a table size update after a header");
        const [size, next] = readInteger(block, pos, 5);
        pos = next;
        if (size > HPACK_LIMITS.maxTableSize) throw new HpackError("dynamic table size over the limit");
        this.#maxSize = size;
        this.#evict(0);
        continue;
      } else {
        const indexing = (byte & 0xc0) === 0x40;
        const prefix = indexing ? 6 : 4;
        const [nameIndex, afterName] = readInteger(block, pos, prefix);
        pos = afterName;
        let name: Buffer;
        if (nameIndex === 0) [name, pos] = this.#string(block, pos);
        else name = this.#entry(nameIndex).name;
        let value: Buffer;
        [value, pos] = this.#string(block, pos);
        field = { name, value, sensitive: (byte & 0xf0) === 0x10 };
        if (indexing) this.#insert({ name, value, sensitive: false });
      }
      listSize += field.name.length + field.value.length + 32;
      if (listSize > HPACK_LIMITS.maxListSize) throw new HpackError("header list over the size limit");
      if (fields.length >= HPACK_LIMITS.maxFields) throw new HpackError("too many header fields");
      fields.push(field);
    }
    return fields;
  }

  #entry(index: number): HeaderField {
    if (index === 0) throw new HpackError("index 0");
    const fixed = STATIC[index - 1];
    if (fixed !== undefined) {
      return { name: Buffer.from(fixed[0]), value: Buffer.from(fixed[1]), sensitive: false };
    }
    const dynamic = this.#table[index - STATIC.length - 1];
    if (dynamic === undefined) throw new HpackError(`index ${index} is not in the table`);
    return dynamic;
  }

  #string(block: Uint8Array, pos: number): [Buffer, number] {
    const huffman = ((block[pos] ?? 0) & 0x80) !== 0;
    const [length, start] = readInteger(block, pos, 7);
    const end = start + length;
    if (end > block.length) throw new HpackError("truncated string");
    const raw = block.subarray(start, end);
    if (!huffman) return [Buffer.from(raw), end];
    const decoded = this.#huffman.decode(raw);
    if (decoded === undefined) throw new HpackError("invalid Huffman string");
    return [decoded, end];
  }

  #insert(field: HeaderField): void {
    const size = field.name.length + field.value.length + 32;
    this.#evict(size);
    if (size > this.#maxSize) return; // an entry larger than the table empties it (RFC 7541 4.4)
    this.#table.unshift(field);
    this.#tableSize += size;
  }

  #evict(room: number): void {
    while (this.#tableSize + room > this.#maxSize && this.#table.length > 0) {
      const old = this.#table.pop();
      if (old !== undefined) this.#tableSize -= old.name.length + old.value.length + 32;
    }
  }
}

/** Encodes a header list without touching the upstream decoder's dynamic table. */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const field of fields) {
    const name = field.name.toString("latin1");
    const value = field.value.toString("latin1");
    const exact = field.sensitive ? -1 : STATIC.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      writeInteger(out, exact + 1, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC.findIndex(([n]) => n === name) + 1;
    writeInteger(out, nameIndex, 4, field.sensitive ? 0x10 : 0x00);
    if (nameIndex === 0) writeString(out, field.name);
    writeString(out, field.value);
  }
  return Buffer.from(out);
}

function writeString(out: number[], bytes: Buffer): void {
  writeInteger(out, bytes.length, 7, 0);
  for (const byte of bytes) out.push(byte);
}
