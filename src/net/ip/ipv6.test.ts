import { isIPv6 } from "node:net";
import { describe, expect, it } from "vitest";
import { formatIpv6, ipv6Mask, parseIpv6 } from "./ipv6.js";

describe("parseIpv6 / formatIpv6", () => {
  it.each([
    ["::", "::", 0n],
    ["::1", "::1", 1n],
    ["2001:db8::1", "2001:db8::1", 0x20010db8000000000000000000000001n],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1", 0x20010db8000000000000000000000001n],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1", 0xffffc0000201n],
    ["::ffff:c000:201", "::ffff:192.0.2.1", 0xffffc0000201n],
    ["fe80::", "fe80::", 0xfe800000000000000000000000000000n],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3", 0x00010000000000020000000000000003n],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", 0x00010002000300040005000600070008n],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7", 0x00010000000200030004000500060007n],
    ["64:ff9b::10.0.0.1", "64:ff9b::a00:1", 0x0064ff9b00000000000000000a000001n],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", 0x00010002000300040005000600070000n],
  ])("%s", (text, canonical, value) => {
    expect(isIPv6(text)).toBe(true);
    expect(parseIpv6(text)).toBe(value);
    expect(formatIpv6(value)).toBe(canonical);
  });

  it.each([
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "g::1",
    "fe80::1%eth0",
    "[::1]",
    "::1/128",
    "1.2.3.4::",
    "::1.2.3",
    "::256.1.1.1",
    "1:2:3:4:5:6:7",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "::ffff:1.2.3.4:1",
  ])("rejects %j", (text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  it("agrees with node:net on random canonical round trips", () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 500; i++) {
      let value = 0n;
      for (let g = 0; g < 8; g++) value = (value << 16n) | BigInt(next() % 4 === 0 ? 0 : next() & 0xffff);
      const text = formatIpv6(value);
      expect(isIPv6(text)).toBe(true);
      expect(parseIpv6(text)).toBe(value);
    }
  });
});

describe("ipv6Mask", () => {
  it("covers the edges", () => {
    expect(ipv6Mask(0)).toBe(0n);
    expect(ipv6Mask(128)).toBe((1n << 128n) - 1n);
    expect(ipv6Mask(10)).toBe(0xffc0n << 112n);
  });
});
