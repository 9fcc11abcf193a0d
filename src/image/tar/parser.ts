/**
 * A streaming, synchronous tar parser for untrusted layers: ustar, GNU (long names, base-256 numbers) and pax
 * (path, linkpath, size, uid, gid, mtime, xattrs with binary values). Bounded: extended headers are limited in size.
 */
import { TarFormatError, decodeHeader, isZeroBlock, parsePaxRecords, type RawHeader } from "./header.js";

export { TarFormatError } from "./header.js";

/** Entry kinds we materialize. */
export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "directory" | "fifo";

/** One tar entry's metadata, after pax and GNU overrides. */
export interface TarHeader {
  /** Path as written in the archive (not yet normalized). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission and special bits (`0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Data bytes that follow (0 for everything but files). */
  readonly size: number;
  /** Modification time in seconds since the epoch (may be fractional with pax). */
  readonly mtime: number;
  /** Target of a symlink or hard link. */
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Extended attributes (`SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`), values as raw bytes. */
  readonly xattrs: ReadonlyMap<string, Buffer>;
}

/** Receives one entry's data. */
export interface TarBodySink {
  data(chunk: Buffer): void;
  end(): void;
}

/** Called for every entry; returns where its data goes, or undefined to skip it. */
export type TarEntryHandler = (header: TarHeader) => TarBodySink | undefined;

/** Size limits of {@link TarParser}. */
export interface TarLimits {
  /** Largest pax or GNU long-name header (default 1 MiB). */
  readonly maxMetaBytes?: number;
}

const TYPES: Readonly<Record<string, TarEntryType>> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "directory",
  "6": "fifo",
  D: "directory",
};

/** Type flags whose data area is present but carries nothing we materialize (GNU volume label, GNU dumpdir). */
const SKIPPED_DATA = new Set(["V", "D"]);

type State =
  | { readonly kind: "header" }
  | {
      readonly kind: "body";
      remaining: number;
      readonly sink: TarBodySink | undefined;
      readonly padding: number;
    }
  | {
      readonly kind: "meta";
      readonly typeflag: string;
      readonly chunks: Buffer[];
      remaining: number;
      readonly padding: number;
    }
  | { readonly kind: "skip"; remaining: number }
  | { readonly kind: "end" };

/** Push parser: feed chunks with {@link TarParser.write}, then call {@link TarParser.end}. Throws {@link TarFormatError}. */
export class TarParser {
  readonly #onEntry: TarEntryHandler;
  readonly #maxMeta: number;
  #state: State = { kind: "header" };
  #block = Buffer.alloc(512);
  #blockFill = 0;
  #pax = new Map<string, Buffer>();
  #globalPax = new Map<string, Buffer>();
  #longName: string | undefined;
  #longLink: string | undefined;

  constructor(onEntry: TarEntryHandler, limits: TarLimits = {}) {
    this.#onEntry = onEntry;
    this.#maxMeta = limits.maxMetaBytes ?? 1024 * 1024;
  }

  /** Feeds the next bytes of the archive. */
  write(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) offset += this.#step(chunk, offset);
  }

  /** Declares the end of input; throws if the archive stopped inside an entry. */
  end(): void {
    const state = this.#state;
    if (state.kind === "end" || state.kind === "skip" || (state.kind === "header" && this.#blockFill === 0))
      return;
    throw new TarFormatError("unexpected end of archive (truncated layer)");
  }

  #step(chunk: Buffer, offset: number): number {
    const state = this.#state;
    const available = chunk.length - offset;
    switch (state.kind) {
      case "end":
        return available;
      case "header": {
        const n = Math.min(512 - this.#blockFill, available);
        chunk.copy(this.#block, this.#blockFill, offset, offset + n);
        this.#blockFill += n;
        if (this.#blockFill === 512) {
          this.#blockFill = 0;
          this.#onHeaderBlock();
        }
        return n;
      }
      case "body": {
        const n = Math.min(state.remaining, available);
        state.sink?.data(chunk.subarray(offset, offset + n));
        state.remaining -= n;
        if (state.remaining === 0) {
          state.sink?.end();
          this.#state = state.padding === 0 ? { kind: "header" } : { kind: "skip", remaining: state.padding };
        }
        return n;
      }
      case "meta": {
        const n = Math.min(state.remaining, available);
        state.chunks.push(Buffer.from(chunk.subarray(offset, offset + n)));
        state.remaining -= n;
        if (state.remaining === 0) {
          this.#onMeta(state.typeflag, Buffer.concat(state.chunks));
          this.#state = state.padding === 0 ? { kind: "header" } : { kind: "skip", remaining: state.padding };
        }
        return n;
      }
      case "skip": {
        const n = Math.min(state.remaining, available);
        state.remaining -= n;
        if (state.remaining === 0) this.#state = { kind: "header" };
        return n;
      }
    }
  }

  #onHeaderBlock(): void {
    if (isZeroBlock(this.#block)) {
      this.#state = { kind: "end" };
      return;
    }
    const raw = decodeHeader(this.#block);
    const padding = (512 - (raw.size % 512)) % 512;
    if ("xgLK".includes(raw.typeflag)) {
      if (raw.size > this.#maxMeta)
        throw new TarFormatError(`extended header of ${raw.size} bytes exceeds the limit`);
      this.#state =
        raw.size === 0
          ? { kind: "header" }
          : { kind: "meta", typeflag: raw.typeflag, chunks: [], remaining: raw.size, padding };
      return;
    }
    if ("SM".includes(raw.typeflag))
      throw new TarFormatError(
        `unsupported tar entry type ${JSON.stringify(raw.typeflag)} (GNU sparse or multi-volume)`,
      );
    const header = this.#resolve(raw);
    const dataSize = header.type === "file" || SKIPPED_DATA.has(raw.typeflag) ? header.size : 0;
    const sink = raw.typeflag === "V" ? undefined : this.#onEntry(header);
    const dataPadding = (512 - (dataSize % 512)) % 512;
    if (dataSize === 0) {
      sink?.end();
      this.#state = { kind: "header" };
    } else {
      this.#state = { kind: "body", remaining: dataSize, sink, padding: dataPadding };
    }
  }

  #onMeta(typeflag: string, data: Buffer): void {
    const nulTrimmed = (): string => {
      const end = data.indexOf(0);
      return data.toString("utf8", 0, end === -1 ? data.length : end);
    };
    if (typeflag === "L") this.#longName = nulTrimmed();
    else if (typeflag === "K") this.#longLink = nulTrimmed();
    else if (typeflag === "g") for (const [k, v] of parsePaxRecords(data)) this.#globalPax.set(k, v);
    else for (const [k, v] of parsePaxRecords(data)) this.#pax.set(k, v);
  }

  #resolve(raw: RawHeader): TarHeader {
    const pax = new Map([...this.#globalPax, ...this.#pax]);
    this.#pax = new Map();
    const longName = this.#longName;
    const longLink = this.#longLink;
    this.#longName = undefined;
    this.#longLink = undefined;
    const str = (key: string): string | undefined => pax.get(key)?.toString("utf8");
    const int = (key: string, fallback: number): number => {
      const value = str(key);
      if (value === undefined) return fallback;
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new TarFormatError(`invalid pax ${key}=${JSON.stringify(value)}`);
      return n;
    };
    const mtimeText = str("mtime");
    const mtime = mtimeText === undefined ? raw.mtime : Number(mtimeText);
    return {
      name: str("path") ?? longName ?? raw.name,
      type: TYPES[raw.typeflag] ?? "file",
      mode: raw.mode,
      uid: int("uid", raw.uid),
      gid: int("gid", raw.gid),
      size: int("size", raw.size),
      mtime: Number.isFinite(mtime) ? mtime : raw.mtime,
      linkname: str("linkpath") ?? longLink ?? raw.linkname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs: xattrsOf(pax),
    };
  }
}

function xattrsOf(pax: ReadonlyMap<string, Buffer>): ReadonlyMap<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith("SCHILY.xattr.")) xattrs.set(key.slice("SCHILY.xattr.".length), value);
    else if (key.startsWith("LIBARCHIVE.xattr.")) {
      xattrs.set(
        decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length)),
        Buffer.from(value.toString("latin1"), "base64"),
      );
    }
  }
  return xattrs;
}
