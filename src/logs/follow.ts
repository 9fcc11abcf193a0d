/**
 * Following a rotated log as `tail -F` does: the live file is read from an offset to its end, then polled; when
 * the writer rotates it (the path now names a new file), the old file is read to its end through the descriptor
 * still open on it, then any files rotated since (when the writer rotated more than once between two polls),
 * and reading goes on from the start of the new live file. Only a reader slower than the whole bound loses
 * bytes (the oldest, as the writer dropped them).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { rotatedPath } from "./rotating-writer.js";

/** Highest rotation index looked at for the files that came after the one being read. */
const MAX_ROTATIONS = 100;

/** Options of {@link followLog}. */
export interface FollowOptions {
  /** Where to start in the live file (bytes); default its current end. */
  readonly from?: number;
  /** Called with each chunk read, in order. */
  readonly onData: (chunk: Buffer) => void;
  /** Polled between reads: once it returns true, the rest is read and following ends. */
  readonly isDone?: () => boolean | Promise<boolean>;
  /** Ends following (after the bytes already read have been delivered). */
  readonly signal?: AbortSignal;
  /** Time between polls. Default 200 ms. */
  readonly pollMs?: number;
}

interface Open {
  fd: number;
  ino: number;
  pos: number;
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function openLog(path: string, pos: number): Open | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return { fd, ino: fstatSync(fd).ino, pos };
}

/** Reads `file` from its position to its end, delivering each chunk. */
function drain(file: Open, onData: (chunk: Buffer) => void): void {
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(file.fd, buffer, 0, buffer.length, file.pos);
    if (n === 0) return;
    file.pos += n;
    onData(Buffer.from(buffer.subarray(0, n)));
  }
}

/**
 * Reads the rotated files that came after the one of inode `ino`, oldest first: those newer than it when it is
 * still among them, else all of them (it was dropped: every rotated file is newer).
 */
function drainRotatedAfter(path: string, ino: number, onData: (chunk: Buffer) => void): void {
  const rotated: string[] = [];
  for (let n = MAX_ROTATIONS; n >= 1; n--) {
    const file = rotatedPath(path, n);
    const fileIno = inodeOf(file);
    if (fileIno === undefined) continue;
    if (fileIno === ino) rotated.length = 0; // only what follows it
    else rotated.push(file);
  }
  for (const file of rotated) {
    const next = openLog(file, 0);
    if (!next) continue;
    try {
      drain(next, onData);
    } finally {
      closeSync(next.fd);
    }
  }
}

/** Follows the log at `path` until `isDone` or `signal` says to stop; see the module comment. */
export async function followLog(path: string, options: FollowOptions): Promise<void> {
  const pollMs = options.pollMs ?? 200;
  let file = openLog(path, 0);
  if (file) file.pos = options.from ?? fstatSync(file.fd).size;
  try {
    for (;;) {
      const done = options.signal?.aborted === true || (await options.isDone?.()) === true;
      if (file) drain(file, options.onData);
      const ino = inodeOf(path);
      if (ino !== undefined && ino !== file?.ino) {
        // Rotated (or created): finish the old file, then start the new one from its beginning.
        if (file) {
          drain(file, options.onData);
          closeSync(file.fd);
          drainRotatedAfter(path, file.ino, options.onData);
        }
        file = openLog(path, 0);
        if (file) drain(file, options.onData);
      }
      if (done) return;
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {}).catch(
        (err: unknown) => {
          if (!(err instanceof Error && err.name === "AbortError")) throw err;
        },
      );
    }
  } finally {
    if (file) closeSync(file.fd);
  }
}
