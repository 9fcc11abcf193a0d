/**
 * Reading a rotated log (see {@link RotatingWriter}): the rotated files oldest first, then the live one, as one
 * text; optionally only its last lines. And the bounded end of one file ({@link readTail}): a guest console, a
 * supervisor's stderr.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { rotatedPath } from "./rotating-writer.js";

/** Highest rotation index looked for (far above any configured bound). */
const MAX_ROTATIONS = 100;

/** The files of the log at `path` that exist, oldest first (the live file last). */
export function logFiles(path: string): string[] {
  const found: string[] = [];
  for (let n = MAX_ROTATIONS; n >= 0; n--) {
    const file = rotatedPath(path, n);
    if (existsSync(file)) found.push(file);
  }
  return found;
}

/** Reads one file, or nothing (an empty buffer) when it does not exist (or vanished, rotated away, meanwhile). */
export function readIfPresent(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}

/** Keeps the last `lines` lines of `text` (a final newline does not start an extra line). */
export function tailLines(text: string, lines: number): string {
  if (lines <= 0) return "";
  let end = text.endsWith("\n") ? text.length - 1 : text.length;
  let count = 0;
  while (end > 0) {
    const nl = text.lastIndexOf("\n", end - 1);
    count++;
    if (count === lines) return text.slice(nl + 1);
    if (nl < 0) break;
    end = nl;
  }
  return text;
}

/** The whole log at `path` (rotated files first) as UTF-8 text, or its last `tail` lines. */
export function readLog(path: string, options: { readonly tail?: number | undefined } = {}): string {
  const text = Buffer.concat(logFiles(path).map(readIfPresent)).toString("utf8");
  return options.tail === undefined ? text : tailLines(text, options.tail);
}

/** The last `bytes` of the file at `path` as text ("" when there is no such file). */
export function readTail(path: string, bytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}
