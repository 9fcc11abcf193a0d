import { describe, expect, it } from "vitest";
import { finishChecksum, internetChecksum, ipv4PseudoHeaderSum, sumWords } from "./checksum.js";
import { fromHex, recorded } from "./recorded.fixture.js";

describe("internetChecksum", () => {
  it("matches the RFC 1071 section 3 example", () => {
    const bytes = fromHex("0001f203f4f5f6f7");
    expect(sumWords(bytes)).toBe(0x0001 + 0xf203 + 0xf4f5 + 0xf6f7);
    expect(internetChecksum(bytes)).toBe(~0xddf2 & 0xffff);
  });

  it("pads an odd trailing byte with zero", () => {
    expect(internetChecksum(fromHex("01"))).toBe(~0x0100 & 0xffff);
    expect(internetChecksum(fromHex("0102 03"))).toBe(internetChecksum(fromHex("0102 0300")));
  });

  it("is 0 over a recorded IPv4 header", () => {
    expect(internetChecksum(recorded.tcpSyn.subarray(14, 34))).toBe(0);
  });

  it("of empty input is 0xffff", () => {
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
  });

  it("folds large sums without overflow", () => {
    const bytes = new Uint8Array(65535).fill(0xff);
    expect(finishChecksum(sumWords(bytes))).toBe(internetChecksum(bytes));
    expect(internetChecksum(bytes)).toBe(0x00ff);
  });

  it("gives the byte-by-byte result at every alignment, length and initial value", () => {
    const slab = new Uint8Array(70_000);
    let seed = 12345;
    for (let i = 0; i < slab.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      slab[i] = seed >>> 24;
    }
    const reference = (bytes: Uint8Array, initial: number): number => {
      let sum = initial;
      for (let i = 0; i < bytes.length; i++) sum += i % 2 === 0 ? (bytes[i] ?? 0) << 8 : (bytes[i] ?? 0);
      return finishChecksum(sum);
    };
    for (const offset of [0, 1, 2, 3, 5, 6, 7]) {
      for (const length of [0, 1, 63, 64, 65, 66, 67, 1500, 8999, 9000, 65535, 65536]) {
        const bytes = slab.subarray(offset, offset + length);
        for (const initial of [0, 0x1_2345]) {
          expect(finishChecksum(sumWords(bytes, initial))).toBe(reference(bytes, initial));
          expect(finishChecksum(sumWords(slab, initial, offset, offset + length))).toBe(
            reference(bytes, initial),
          );
        }
      }
    }
    expect(internetChecksum(new Uint8Array(70_000).fill(0xff).subarray(3))).toBe(
      reference(new Uint8Array(69_997).fill(0xff), 0),
    );
  });

  it("sums the pseudo header", () => {
    expect(ipv4PseudoHeaderSum(0x0a4d0001, 0x0a4d0002, 6, 40)).toBe(
      0x0a4d + 0x0001 + 0x0a4d + 0x0002 + 6 + 40,
    );
  });
});
