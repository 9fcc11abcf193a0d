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

  it("sums the pseudo header", () => {
    expect(ipv4PseudoHeaderSum(0x0a4d0001, 0x0a4d0002, 6, 40)).toBe(
      0x0a4d + 0x0001 + 0x0a4d + 0x0002 + 6 + 40,
    );
  });
});
