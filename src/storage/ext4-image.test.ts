import { describe, expect, it } from "vitest";
import { InvalidStateError } from "../errors.js";
import { parseSuperblock } from "./ext4-image.js";

function superblock(fields: {
  blocks: number;
  free: number;
  log: number;
  is64?: boolean;
  hi?: number;
}): Buffer {
  const sb = Buffer.alloc(1024);
  sb.writeUInt32LE(fields.blocks % 2 ** 32, 0x04);
  sb.writeUInt32LE(fields.free, 0x0c);
  sb.writeUInt32LE(fields.log, 0x18);
  sb.writeUInt16LE(0xef53, 0x38);
  if (fields.is64 === true) {
    sb.writeUInt32LE(0x80, 0x60);
    sb.writeUInt32LE(fields.hi ?? 0, 0x150);
  }
  return sb;
}

describe("the ext4 superblock", () => {
  it("gives allocated bytes from block counts", () => {
    expect(parseSuperblock(superblock({ blocks: 25_600, free: 20_000, log: 2 }), "x")).toEqual({
      blockSize: 4096,
      blocks: 25_600,
      freeBlocks: 20_000,
      allocatedBytes: 5_600 * 4096,
    });
    expect(parseSuperblock(superblock({ blocks: 10, free: 0, log: 2, is64: true, hi: 1 }), "x").blocks).toBe(
      2 ** 32 + 10,
    );
  });

  it("refuses what is not ext4 or is cut short", () => {
    expect(() => parseSuperblock(Buffer.alloc(1024), "x")).toThrow(InvalidStateError);
    expect(() => parseSuperblock(superblock({ blocks: 1, free: 0, log: 2 }).subarray(0, 100), "x")).toThrow(
      InvalidStateError,
    );
    expect(() => parseSuperblock(superblock({ blocks: 1, free: 0, log: 30 }), "x")).toThrow(
      InvalidStateError,
    );
  });
});
