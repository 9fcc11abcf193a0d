/** Test helper: a strict reader of newc cpio archives, to check what the writer produced. */
import { expect } from "vitest";
import { NEWC_HEADER_SIZE, NEWC_MAGIC, NEWC_TRAILER } from "../cpio.js";

/** One entry parsed back from a newc archive. */
export interface Parsed {
  offset: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
  data: Buffer;
}

/** A strict newc reader: checks magic and 4-byte alignment of every header and data block. */
export function parseNewc(archive: Buffer): Parsed[] {
  const entries: Parsed[] = [];
  let at = 0;
  for (;;) {
    expect(at % 4).toBe(0);
    expect(archive.toString("latin1", at, at + 6)).toBe(NEWC_MAGIC);
    const field = (i: number): number =>
      Number.parseInt(archive.toString("latin1", at + 6 + i * 8, at + 14 + i * 8), 16);
    const nameSize = field(11);
    const name = archive.toString("utf8", at + NEWC_HEADER_SIZE, at + NEWC_HEADER_SIZE + nameSize - 1);
    expect(archive[at + NEWC_HEADER_SIZE + nameSize - 1]).toBe(0);
    const dataAt = Math.ceil((at + NEWC_HEADER_SIZE + nameSize) / 4) * 4;
    const size = field(6);
    entries.push({
      offset: at,
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      rdevMajor: field(9),
      rdevMinor: field(10),
      name,
      data: archive.subarray(dataAt, dataAt + size),
    });
    at = Math.ceil((dataAt + size) / 4) * 4;
    if (name === NEWC_TRAILER) break;
  }
  expect(at).toBe(archive.length);
  return entries;
}
