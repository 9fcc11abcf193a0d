import { describe, expect, it } from "vitest";
import { parseIpAddress, parseNormalizedIpAddress, unmapIpAddress, formatIpAddress } from "./address.js";
import { cidrContains, formatCidr, parseCidr } from "./cidr.js";

function must(text: string) {
  const result = parseCidr(text);
  if (!result.ok) throw new Error(result.message);
  return result.cidr;
}

function addr(text: string) {
  const a = parseNormalizedIpAddress(text);
  if (a === undefined) throw new Error(text);
  return a;
}

describe("parseCidr", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.0.2.7", "192.0.2.7/32"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["::/0", "::/0"],
    ["::1", "::1/128"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
  ])("%s", (text, formatted) => {
    expect(formatCidr(must(text))).toBe(formatted);
  });

  it.each([
    ["10.0.0.1/8", /did you mean "10.0.0.0\/8"/],
    ["10.0.0.0/33", /0 to 32/],
    ["2001:db8::/129", /0 to 128/],
    ["10.0.0.0/", /prefix length/],
    ["10.0.0.0/-1", /prefix length/],
    ["10.0.0.0/8/8", /prefix length/],
    ["10.0.0/8", /not an IPv4 or IPv6/],
    ["example.com/8", /not an IPv4 or IPv6/],
    ["", /not an IPv4 or IPv6/],
  ])("rejects %s", (text, message) => {
    const result = parseCidr(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });
});

describe("cidrContains", () => {
  it.each([
    ["10.0.0.0/8", "10.255.255.255", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["192.0.2.7/32", "192.0.2.7", true],
    ["192.0.2.7/32", "192.0.2.8", false],
    ["fe80::/10", "febf:ffff::1", true],
    ["fe80::/10", "fec0::1", false],
    ["::/0", "10.0.0.1", false],
    ["::/0", "2001:db8::1", true],
    ["10.0.0.0/8", "::ffff:10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "10.9.9.9", true],
    ["10.0.0.0/8", "2001:db8::a00:1", false],
  ])("%s contains %s: %s", (prefix, address, expected) => {
    expect(cidrContains(must(prefix), addr(address))).toBe(expected);
  });
});

describe("unmapIpAddress", () => {
  it("maps only ::ffff:0:0/96", () => {
    const mapped = parseIpAddress("::ffff:127.0.0.1");
    const compat = parseIpAddress("::127.0.0.1");
    if (mapped === undefined || compat === undefined) throw new Error("parse");
    expect(formatIpAddress(unmapIpAddress(mapped))).toBe("127.0.0.1");
    expect(unmapIpAddress(compat).family).toBe(6);
  });
});
