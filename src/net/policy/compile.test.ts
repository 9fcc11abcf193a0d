import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { DEFAULT_MAX_CONNECTIONS, compilePolicy } from "./compile.js";
import { isDomainBlocked } from "./domain.js";
import type { NetworkConfig } from "./types.js";

function fieldOf(config: unknown): string {
  try {
    compilePolicy(config as NetworkConfig);
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      expect(error.message.startsWith(`invalid ${error.field}: `)).toBe(true);
      expect(error.code).toBe("MSB_ERR_INVALID_CONFIG");
      return error.message.slice("invalid ".length);
    }
    throw error;
  }
  throw new Error("expected InvalidConfigError");
}

const rule = (extra: Record<string, unknown>) => ({
  rules: [
    { action: "allow", destination: "*" },
    { action: "deny", destination: "*", ...extra },
  ],
});

describe("compilePolicy defaults", () => {
  it("fills documented defaults", () => {
    expect(compilePolicy()).toEqual({
      preset: "public-only",
      rules: [],
      defaultAction: "allow",
      blockDomains: [],
      blockDomainSuffixes: [],
      dnsRebindProtection: true,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      tls: undefined,
    });
    expect(compilePolicy({ policy: "none" }).defaultAction).toBe("deny");
  });

  it("compiles tls and normalises block lists", () => {
    const tls = { bypass: ["*.internal"], interceptedPorts: [443, 8443] };
    const compiled = compilePolicy({
      tls,
      blockDomains: ["Ads.Example.COM."],
      blockDomainSuffixes: [".Tracker.NET", "evil.org"],
      maxConnections: 10,
      dnsRebindProtection: false,
    });
    expect(compiled.tls?.bypassSuffixes).toEqual(["internal"]);
    expect([...(compiled.tls?.interceptedPorts ?? [])]).toEqual([443, 8443]);
    expect(compiled.blockDomains).toEqual(["ads.example.com"]);
    expect(compiled.blockDomainSuffixes).toEqual(["tracker.net", "evil.org"]);
    expect(compiled.maxConnections).toBe(10);
    expect(compiled.dnsRebindProtection).toBe(false);
  });

  it("is frozen", () => {
    const compiled = compilePolicy({ rules: [{ action: "allow", destination: "*" }] });
    expect(Object.isFrozen(compiled)).toBe(true);
    expect(Object.isFrozen(compiled.rules)).toBe(true);
  });
});

describe("compilePolicy rejects every invalid field by name", () => {
  it.each([
    [null, /^network: /],
    [[], /^network: /],
    [{ polcy: "none" }, /^network\.polcy: /],
    [{ policy: "public" }, /^network\.policy: .*"public-only"/],
    [{ defaultAction: "block" }, /^network\.defaultAction: /],
    [{ policy: "none", defaultAction: "allow" }, /^network\.defaultAction: conflicts with policy "none"/],
    [
      { policy: "allow-all", defaultAction: "deny" },
      /^network\.defaultAction: conflicts with policy "allow-all"/,
    ],
    [{ rules: {} }, /^network\.rules: must be an array/],
    [{ rules: ["allow *"] }, /^network\.rules\[0\]: must be an object/],
    [rule({ action: "permit" }), /^network\.rules\[1\]\.action: /],
    [rule({ direction: "egress" }), /^network\.rules\[1\]\.direction: /],
    [rule({ protocol: "sctp" }), /^network\.rules\[1\]\.protocol: /],
    [rule({ protocol: "TCP" }), /^network\.rules\[1\]\.protocol: /],
    [rule({ destinaton: "x" }), /^network\.rules\[1\]\.destinaton: is not a rule field/],
    [rule({ destination: undefined }), /^network\.rules\[1\]\.destination: must be a string/],
    [rule({ destination: "" }), /^network\.rules\[1\]\.destination: must not be empty/],
    [rule({ destination: "  " }), /^network\.rules\[1\]\.destination: must not be empty/],
    [
      rule({ destination: "10.0.0.1/8" }),
      /^network\.rules\[1\]\.destination: .*did you mean "10\.0\.0\.0\/8"/,
    ],
    [rule({ destination: "10.0.0.0/33" }), /^network\.rules\[1\]\.destination: /],
    [rule({ destination: "300.1.1.1" }), /^network\.rules\[1\]\.destination: /],
    [rule({ destination: "10.1" }), /^network\.rules\[1\]\.destination: /],
    [rule({ destination: "2001:db8::/129" }), /^network\.rules\[1\]\.destination: /],
    [rule({ destination: "2001:db8::1::2" }), /^network\.rules\[1\]\.destination: /],
    [rule({ destination: "privat" }), /^network\.rules\[1\]\.destination: "privat" is neither a group/],
    [rule({ destination: "public" }), /^network\.rules\[1\]\.destination: .*neither a group/],
    [
      rule({ destination: "*.example.com" }),
      /^network\.rules\[1\]\.destination: wildcards.*"\.example\.com"/,
    ],
    [rule({ destination: "." }), /^network\.rules\[1\]\.destination: "\." is not an IPv4 or IPv6 address/],
    [rule({ destination: "exa mple.com" }), /^network\.rules\[1\]\.destination: .*invalid label/],
    [rule({ destination: "a..b.com" }), /^network\.rules\[1\]\.destination: .*invalid label/],
    [rule({ destination: "-a.com" }), /^network\.rules\[1\]\.destination: .*invalid label/],
    [rule({ destination: `${"a".repeat(64)}.com` }), /^network\.rules\[1\]\.destination: .*invalid label/],
    [rule({ destination: `${"a.".repeat(127)}com` }), /^network\.rules\[1\]\.destination: .*longer than 253/],
    [rule({ port: 443 }), /^network\.rules\[1\]\.port: must be a string/],
    [rule({ port: "0" }), /^network\.rules\[1\]\.port: port 0 is not in 1-65535/],
    [rule({ port: "65536" }), /^network\.rules\[1\]\.port: /],
    [rule({ port: "9000-8000" }), /^network\.rules\[1\]\.port: range "9000-8000" is reversed/],
    [rule({ port: "80,443" }), /^network\.rules\[1\]\.port: /],
    [rule({ port: "" }), /^network\.rules\[1\]\.port: /],
    [rule({ port: "1-" }), /^network\.rules\[1\]\.port: /],
    [rule({ port: " 443" }), /^network\.rules\[1\]\.port: /],
    [rule({ protocol: "icmpv4", port: "1" }), /^network\.rules\[1\]\.port: icmpv4 has no ports/],
    [
      rule({ protocol: "icmpv4", destination: "::1" }),
      /^network\.rules\[1\]\.protocol: icmpv4 never matches/,
    ],
    [
      rule({ protocol: "icmpv6", destination: "10.0.0.0/8" }),
      /^network\.rules\[1\]\.protocol: icmpv6 never matches/,
    ],
    [
      rule({ direction: "inbound", destination: "example.com" }),
      /^network\.rules\[1\]\.destination: domain destinations apply to outbound/,
    ],
    [
      rule({ direction: "inbound", destination: ".example.com" }),
      /^network\.rules\[1\]\.destination: domain/,
    ],
    [{ blockDomains: "ads.com" }, /^network\.blockDomains: must be an array/],
    [{ blockDomains: ["ok.com", ""] }, /^network\.blockDomains\[1\]: must not be empty/],
    [{ blockDomains: [42] }, /^network\.blockDomains\[0\]: must be a string/],
    [{ blockDomainSuffixes: ["bad..com"] }, /^network\.blockDomainSuffixes\[0\]: /],
    [{ dnsRebindProtection: "yes" }, /^network\.dnsRebindProtection: /],
    [{ maxConnections: 0 }, /^network\.maxConnections: must be a positive integer/],
    [{ maxConnections: -1 }, /^network\.maxConnections: /],
    [{ maxConnections: 1.5 }, /^network\.maxConnections: /],
    [{ maxConnections: "256" }, /^network\.maxConnections: /],
    [{ maxConnections: Number.POSITIVE_INFINITY }, /^network\.maxConnections: /],
    [{ tls: "on" }, /^network\.tls: must be an object/],
  ])("%j", (config, expected) => {
    expect(fieldOf(config)).toMatch(expected);
  });

  it("uses the field prefix it is given", () => {
    expect(() => compilePolicy({ maxConnections: 0 }, { field: "sandbox.network" })).toThrow(
      /invalid sandbox\.network\.maxConnections/,
    );
  });

  it("accepts every valid rule form", () => {
    const rules = [
      { action: "allow", destination: "*" },
      { action: "deny", destination: "10.0.0.0/8", protocol: "tcp", port: "22" },
      { action: "deny", destination: "2001:db8::/32", protocol: "udp", port: "1000-2000" },
      { action: "allow", destination: "api.example.com", port: "443" },
      { action: "allow", destination: ".example.org" },
      { action: "deny", destination: "metadata" },
      { action: "allow", direction: "inbound", destination: "loopback", port: "8080" },
      { action: "deny", destination: "fe80::/10", protocol: "icmpv6" },
      { action: "allow", destination: "_dmarc.example.com" },
    ] as const;
    expect(compilePolicy({ rules }).rules.map((r) => r.description)).toEqual([
      "allow * (public addresses)",
      "deny tcp 10.0.0.0/8 port 22",
      "deny udp 2001:db8::/32 ports 1000-2000",
      "allow api.example.com port 443",
      "allow .example.org",
      "deny metadata",
      "allow inbound loopback port 8080",
      "deny icmpv6 fe80::/10",
      "allow _dmarc.example.com",
    ]);
  });
});

describe("isDomainBlocked", () => {
  const lists = {
    blockDomains: ["Ads.Example.com", "tracker.io."],
    blockDomainSuffixes: [".doubleclick.net", "evil.org"],
  };

  it.each([
    ["ads.example.com", true],
    ["ADS.EXAMPLE.COM.", true],
    ["x.ads.example.com", false],
    ["example.com", false],
    ["tracker.io", true],
    ["doubleclick.net", true],
    ["ad.doubleclick.net", true],
    ["a.b.doubleclick.net.", true],
    ["notdoubleclick.net", false],
    ["doubleclick.net.example", false],
    ["evil.org", true],
    ["www.EVIL.org", true],
    ["devil.org", false],
    ["", false],
    [".", false],
  ])("%j -> %s", (name, expected) => {
    expect(isDomainBlocked(name, lists)).toBe(expected);
  });

  it("works with a compiled policy's lists and with no lists", () => {
    expect(isDomainBlocked("a.evil.org", compilePolicy(lists))).toBe(true);
    expect(isDomainBlocked("a.evil.org", {})).toBe(false);
  });
});
