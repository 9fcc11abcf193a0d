/** Decoding of one 512-byte tar header block (ustar, GNU and v7 layouts) and of pax extended-header records. */

/** Why a tar stream was rejected. Internal: the layer code wraps it with the layer's digest. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarFormatError";
  }
}

/** The raw fields of a header block, before pax and GNU long-name overrides. */
export interface RawHeader {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

/** True when the block is all zeros (the end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Decodes a 512-byte header block, verifying its checksum. */
export function decodeHeader(block: Buffer): RawHeader {
  const stored = numeric(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed)
    throw new TarFormatError("bad header checksum (not a tar stream, or corrupted)");
  const posix = block.toString("latin1", 257, 263) === "ustar\0";
  const prefix = posix ? text(block, 345, 155) : "";
  const name = text(block, 0, 100);
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    mode: numeric(block, 100, 8, "mode") & 0o7777,
    uid: numeric(block, 108, 8, "uid"),
    gid: numeric(block, 116, 8, "gid"),
    size: numeric(block, 124, 12, "size"),
    mtime: numeric(block, 136, 12, "mtime"),
    typeflag: String.fromCharCode(block[156] ?? 0),
    linkname: text(block, 157, 100),
    devmajor: numeric(block, 329, 8, "devmajor"),
    devminor: numeric(block, 337, 8, "devminor"),
  };
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.toString("utf8", 0, end === -1 ? length : end);
}

/** Octal (NUL/space padded) or GNU base-256 numeric field. */
function numeric(block: Buffer, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    if (field[0] === 0xff) throw new TarFormatError(`negative ${what} in header`);
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`${what} too large in header`);
    return value;
  }
  const digits = field
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^[\0 ]+/, "");
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits))
    throw new TarFormatError(`invalid ${what} field ${JSON.stringify(digits)} in header`);
  return parseInt(digits, 8);
}

/** Parses pax records (`"<len> <key>=<value>\n"`). Values stay raw bytes: xattr values may be binary. */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break;
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number(data.toString("latin1", offset, space));
    const end = offset + length;
    if (!Number.isSafeInteger(length) || length <= 0 || end > data.length || data[end - 1] !== 0x0a) {
      throw new TarFormatError("malformed pax extended header");
    }
    const equals = data.indexOf(0x3d, space + 1);
    if (equals === -1 || equals >= end) throw new TarFormatError("malformed pax record (no '=')");
    records.set(data.toString("utf8", space + 1, equals), data.subarray(equals + 1, end - 1));
    offset = end;
  }
  return records;
}
