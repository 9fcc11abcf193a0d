/**
 * Following a rotated log as `tail -F` does. The live file is held open by descriptor and read to its end, then
 * polled. When the writer has rotated it (the path names another inode), the old file is read to its end
 * through its descriptor, then every rotated file newer than it (the writer may have rotated several times
 * between two polls), then the new live file from its start. Files are matched by inode, never by name, so a
 * rotation during the switch neither repeats nor skips a file; only a reader slower than the whole bound loses
 * bytes (the oldest, which the writer dropped).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { tailLines } from "./read.js";
import { rotatedPath } from "./rotating-writer.js";

/** Highest rotation index looked at. */
const MAX_ROTATIONS = 100;

/** Options of {@link followLog}. */
export interface FollowOptions {
  /** First deliver the last this many lines already written (across rotated files); default none. */
  readonly tail?: number | undefined;
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

function openLog(path: string): Open | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return { fd, ino: fstatSync(fd).ino, pos: 0 };
}

function inodeOf(path: string): number | undefined {
  const file = openLog(path);
  if (!file) return undefined;
  closeSync(file.fd);
  return file.ino;
}

/** Reads `file` from its position to `end` (default: its end), delivering each chunk. */
function drain(file: Open, onData: (chunk: Buffer) => void, end = Infinity): void {
  const buffer = Buffer.alloc(64 * 1024);
  while (file.pos < end) {
    const n = readSync(file.fd, buffer, 0, Math.min(buffer.length, end - file.pos), file.pos);
    if (n === 0) return;
    file.pos += n;
    onData(Buffer.from(buffer.subarray(0, n)));
  }
}

/**
 * The rotated files, oldest first, opened; only those newer than inode `after` when it is among them (else all:
 * it was dropped, so all are newer), and never the file of inode `live`.
 */
function openRotated(path: string, after: number | undefined, live: number | undefined): Open[] {
  let files: Open[] = [];
  for (let n = MAX_ROTATIONS; n >= 1; n--) {
    const file = openLog(rotatedPath(path, n));
    if (!file) continue;
    if (file.ino === after) {
      for (const older of [...files, file]) closeSync(older.fd);
      files = [];
    } else if (file.ino === live) {
      closeSync(file.fd);
    } else {
      files.push(file);
    }
  }
  return files;
}

/** Reads and closes `files` in order; returns the inode of the last one (or `last` when there is none). */
function drainAll(
  files: readonly Open[],
  onData: (chunk: Buffer) => void,
  last?: number,
): number | undefined {
  let ino = last;
  for (const file of files) {
    try {
      drain(file, onData);
      ino = file.ino;
    } finally {
      closeSync(file.fd);
    }
  }
  return ino;
}

/** Delivers the last `lines` lines written before `end` of the live file. */
function deliverTail(
  path: string,
  live: Open,
  end: number,
  lines: number,
  onData: (c: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  drainAll(openRotated(path, undefined, live.ino), (c) => chunks.push(c));
  drain(live, (c) => chunks.push(c), end);
  const text = tailLines(Buffer.concat(chunks).toString("utf8"), lines);
  if (text !== "") onData(Buffer.from(text, "utf8"));
}

/** Follows the log at `path` until `isDone` or `signal` says to stop; see the module comment. */
export async function followLog(path: string, options: FollowOptions): Promise<void> {
  const pollMs = options.pollMs ?? 200;
  const onData = options.onData;
  let file = openLog(path);
  /** The inode of the last file read to its end: the rotated files after it are still to read. */
  let last: number | undefined;
  if (file) {
    const end = fstatSync(file.fd).size;
    if (options.tail !== undefined) deliverTail(path, file, end, options.tail, onData);
    file.pos = end;
  }
  try {
    for (;;) {
      const done = options.signal?.aborted === true || (await options.isDone?.()) === true;
      if (file) drain(file, onData);
      if (inodeOf(path) !== file?.ino) {
        // Rotated (or created): open the new live file first, so a rotation meanwhile shows up as a rotated file.
        const live = openLog(path);
        if (file) {
          drain(file, onData);
          closeSync(file.fd);
          last = file.ino;
        }
        if (last !== undefined) last = drainAll(openRotated(path, last, live?.ino), onData, last);
        file = live;
        if (file) drain(file, onData);
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
