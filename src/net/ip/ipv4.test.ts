import { isIPv4 } from "node:net";
import { describe, expect, it } from "vitest";
import { formatIpv4, ipv4Mask, parseIpv4 } from "./ipv4.js";

describe("parseIpv4", () => {
  it.each([
    ["0.0.0.0", 0],
    ["255.255.255.255", 0xffffffff],
    ["192.0.2.1", 0xc0000201],
    ["10.1.2.3", 0x0a010203],
  ])("parses %s", (text, value) => {
    expect(parseIpv4(text)).toBe(value);
    expect(formatIpv4(value)).toBe(text);
  });

  it.each([
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "010.0.0.1",
    "1.2.3.04",
    "0x7f.0.0.1",
    " 1.2.3.4",
    "1.2.3.4 ",
    "a.b.c.d",
    "1..2.3",
    "1.2.3.-1",
    "1234.1.1.1",
  ])("rejects %j", (text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });

  it("agrees with node:net on every accepted literal", () => {
    for (const text of ["1.2.3.4", "0.0.0.0", "9.99.199.255"]) expect(isIPv4(text)).toBe(true);
  });
});

describe("ipv4Mask", () => {
  it.each([
    [0, 0],
    [1, 0x80000000],
    [8, 0xff000000],
    [31, 0xfffffffe],
    [32, 0xffffffff],
  ])("/%i", (len, mask) => {
    expect(ipv4Mask(len)).toBe(mask);
  });
});
