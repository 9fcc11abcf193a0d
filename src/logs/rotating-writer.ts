/**
 * An append-only log file with a size bound: `path` is written until the next write would take it past
 * `maxBytes`; then `path.{files-2}` is dropped, every `path.N` becomes `path.N+1`, `path` becomes `path.1`, and a
 * fresh `path` is started. At most `files` files exist (`path`, `path.1` … `path.{files-1}`), so the log never
 * takes more than `maxBytes × files` bytes, whatever the guest writes.
 *
 * Writes are synchronous and whole: a write that fits in one file is never split across two (a JSON line stays
 * on one line of one file); a write larger than `maxBytes` fills whole files, and only its last
 * `maxBytes × files` bytes can survive. Synchronous writes keep concurrent appends in call order and give
 * natural back-pressure: the caller returns flow-control credit only after the bytes are on disk.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/** Size bound of a rotating log. */
export interface LogLimits {
  /** Largest size of one file, in bytes (at least 1). */
  readonly maxBytes: number;
  /** How many files are kept, the live one included (at least 1). */
  readonly files: number;
}

/** Path of rotated file `n` of `path` (`n` = 0 is the live file). */
export function rotatedPath(path: string, n: number): string {
  return n === 0 ? path : `${path}.${n}`;
}

/** The bounded append-only writer described in the module comment. */
export class RotatingWriter {
  readonly path: string;
  readonly limits: LogLimits;
  #fd: number | undefined;
  #size: number;

  /** Opens (appending to) `path`, creating it with mode 0600 if needed. */
  constructor(path: string, limits: LogLimits) {
    if (!Number.isInteger(limits.maxBytes) || limits.maxBytes < 1) {
      throw new RangeError(`maxBytes must be a positive integer, got ${limits.maxBytes}`);
    }
    if (!Number.isInteger(limits.files) || limits.files < 1) {
      throw new RangeError(`files must be a positive integer, got ${limits.files}`);
    }
    this.path = path;
    this.limits = limits;
    this.#fd = openSync(path, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  /** Bytes in the live file. */
  get size(): number {
    return this.#size;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#fd === undefined;
  }

  /** Appends `data` (a string is written as UTF-8), rotating as needed. Throws once closed. */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (this.#fd === undefined) throw new Error(`the log ${this.path} is closed`);
    const { maxBytes, files } = this.limits;
    // Bytes that could never survive the rotations this write causes are skipped.
    const keep = maxBytes * files;
    let offset = bytes.length > keep ? bytes.length - keep : 0;
    while (offset < bytes.length) {
      const left = bytes.length - offset;
      if (this.#size > 0 && this.#size + Math.min(left, maxBytes) > maxBytes) this.#rotate();
      const chunk = Math.min(left, maxBytes - this.#size);
      this.#writeAll(bytes.subarray(offset, offset + chunk));
      offset += chunk;
    }
  }

  /** Closes the live file. Safe to call twice. */
  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #writeAll(chunk: Uint8Array): void {
    let done = 0;
    while (done < chunk.length) {
      done += writeSync(this.#fd as number, chunk, done, chunk.length - done);
    }
    this.#size += chunk.length;
  }

  #rotate(): void {
    closeSync(this.#fd as number);
    this.#fd = undefined;
    const { files } = this.limits;
    // Each rename replaces its target atomically (the oldest file is dropped by being renamed over), so a reader
    // listing the directory mid-rotation never finds a rotated file missing; only the live file can be, briefly.
    if (files === 1) rmSync(this.path, { force: true });
    for (let n = files - 2; n >= 0; n--) {
      try {
        renameSync(rotatedPath(this.path, n), rotatedPath(this.path, n + 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    this.#fd = openSync(this.path, "a", 0o600);
    this.#size = 0;
  }
}
