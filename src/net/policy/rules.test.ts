import { describe, expect, it } from "vitest";
import { type FlowInput, decide } from "./decide.fixture.js";
import type { NetworkConfig, PolicyRule } from "./types.js";

/** Runs one rule over allow-all (deny rules) or none (allow rules): the rule alone decides a match. */
function matches(rule: PolicyRule, flow: FlowInput): boolean {
  const config: NetworkConfig = { policy: rule.action === "deny" ? "allow-all" : "none", rules: [rule] };
  return decide(config, flow).rule === 0;
}

describe("rule destinations", () => {
  it.each([
    // [destination, address, names, expected match]
    ["*", "8.8.8.8", [], true],
    ["10.0.0.0/8", "10.200.0.1", [], true],
    ["10.0.0.0/8", "11.0.0.1", [], false],
    ["10.0.0.0/8", "::ffff:10.0.0.1", [], true],
    ["::ffff:10.0.0.0/104", "10.0.0.1", [], true],
    ["10.0.0.0/8", "64:ff9b::a00:1", [], false],
    ["2001:db8::/32", "2001:db8:1::1", [], true],
    ["2001:db8::/32", "2001:db9::1", [], false],
    ["203.0.113.9", "203.0.113.9", [], true],
    ["203.0.113.9", "203.0.113.10", [], false],
    ["2001:db8::9", "2001:db8::9", [], true],
    ["0.0.0.0/0", "8.8.8.8", [], true],
    ["0.0.0.0/0", "2001:db8::1", [], false],
    ["::/0", "2001:db8::1", [], true],
    ["loopback", "127.0.0.1", [], true],
    ["loopback", "127.9.9.9", [], true],
    ["loopback", "::1", [], true],
    ["loopback", "::ffff:127.0.0.1", [], true],
    ["loopback", "10.0.0.1", [], false],
    ["private", "10.0.0.1", [], true],
    ["private", "172.31.0.1", [], true],
    ["private", "192.168.0.1", [], true],
    ["private", "100.64.0.1", [], true],
    ["private", "fd00::1", [], true],
    ["private", "172.32.0.1", [], false],
    ["private", "127.0.0.1", [], false],
    ["link-local", "169.254.1.1", [], true],
    ["link-local", "fe80::1", [], true],
    ["link-local", "10.0.0.1", [], false],
    ["metadata", "169.254.169.254", [], true],
    ["metadata", "fd00:ec2::254", [], true],
    ["metadata", "169.254.169.253", [], false],
    ["multicast", "224.0.0.1", [], true],
    ["multicast", "239.1.1.1", [], true],
    ["multicast", "ff02::1", [], true],
    ["multicast", "255.255.255.255", [], false],
    ["api.example.com", "8.8.8.8", ["api.example.com"], true],
    ["api.example.com", "8.8.8.8", ["API.Example.COM."], true],
    ["API.example.com.", "8.8.8.8", ["api.example.com"], true],
    ["api.example.com", "8.8.8.8", ["www.example.com", "api.example.com"], true],
    ["api.example.com", "8.8.8.8", ["x.api.example.com"], false],
    ["api.example.com", "8.8.8.8", [], false],
    [".example.com", "8.8.8.8", ["example.com"], true],
    [".example.com", "8.8.8.8", ["a.example.com"], true],
    [".example.com", "8.8.8.8", ["a.b.example.com."], true],
    [".example.com", "8.8.8.8", ["badexample.com"], false],
    [".example.com", "8.8.8.8", ["example.com.evil.net"], false],
    ["bücher.de", "8.8.8.8", ["xn--bcher-kva.de"], true],
  ] as const)("%s vs %s %j -> %s", (destination, address, names, expected) => {
    expect(matches({ action: "deny", destination }, { address, names })).toBe(expected);
    expect(matches({ action: "allow", destination }, { address, names })).toBe(expected);
  });

  it('an allow rule\'s "*" matches public addresses only, unless the preset is allow-all', () => {
    for (const address of [
      "127.0.0.1",
      "::1",
      "10.0.0.1",
      "169.254.169.254",
      "::ffff:192.168.0.1",
      "fd00::1",
    ]) {
      expect(matches({ action: "deny", destination: "*" }, { address })).toBe(true);
      expect(
        decide({ policy: "none", rules: [{ action: "allow", destination: "*" }] }, { address }).action,
      ).toBe("deny");
      expect(
        decide({ rules: [{ action: "allow", destination: "*", port: "443" }] }, { address }),
      ).toMatchObject({ action: "deny" });
      expect(
        decide({ policy: "allow-all", rules: [{ action: "allow", destination: "*" }] }, { address }).rule,
      ).toBe(0);
      // Naming the range lifts the preset's protection explicitly.
      const everything = address.includes(":") && !address.startsWith("::ffff:") ? "::/0" : "0.0.0.0/0";
      expect(decide({ rules: [{ action: "allow", destination: everything }] }, { address }).action).toBe(
        "allow",
      );
    }
    expect(
      decide(
        { policy: "none", rules: [{ action: "allow", destination: "*", port: "443" }] },
        { address: "8.8.8.8" },
      ),
    ).toMatchObject({
      action: "allow",
      reason: "network.rules[0] (allow * (public addresses) port 443)",
    });
  });

  it("domain rules never match on the address alone", () => {
    // 8.8.8.8 is public: without names the domain deny rule does not apply and public-only allows.
    expect(
      decide({ rules: [{ action: "deny", destination: "dns.google" }] }, { address: "8.8.8.8" }).rule,
    ).toBeUndefined();
    expect(
      decide(
        { rules: [{ action: "deny", destination: "dns.google" }] },
        { address: "8.8.8.8", names: ["dns.google"] },
      ).action,
    ).toBe("deny");
  });

  it("an allowed domain can reach a non-public address its DNS answer pointed at", () => {
    const config: NetworkConfig = { rules: [{ action: "allow", destination: "db.internal.example" }] };
    expect(decide(config, { address: "10.0.0.5", names: ["db.internal.example"] }).action).toBe("allow");
    expect(decide(config, { address: "10.0.0.5" }).action).toBe("deny");
  });
});

describe("rule ordering", () => {
  const rules: PolicyRule[] = [
    { action: "deny", destination: "10.0.0.1" },
    { action: "allow", destination: "10.0.0.0/8" },
    { action: "deny", destination: "*" },
  ];

  it.each([
    ["10.0.0.1", "deny", 0],
    ["10.0.0.2", "allow", 1],
    ["8.8.8.8", "deny", 2],
  ] as const)("%s -> %s by rule %i", (address, action, rule) => {
    expect(decide({ policy: "allow-all", rules }, { address })).toMatchObject({ action, rule });
  });

  it("reverse order changes the outcome (first match wins)", () => {
    expect(
      decide({ policy: "allow-all", rules: [...rules].reverse() }, { address: "10.0.0.1" }),
    ).toMatchObject({ action: "deny", rule: 0 });
  });

  it("names the rule in the reason", () => {
    expect(
      decide(
        { rules: [{ action: "allow", destination: "10.0.0.0/8", protocol: "tcp", port: "8000-9000" }] },
        { address: "10.0.0.1", port: 8080 },
      ),
    ).toEqual({
      action: "allow",
      reason: "network.rules[0] (allow tcp 10.0.0.0/8 ports 8000-9000)",
      rule: 0,
    });
  });
});

describe("ports and protocols", () => {
  it.each([
    ["443", 443, true],
    ["443", 444, false],
    ["8000-9000", 7999, false],
    ["8000-9000", 8000, true],
    ["8000-9000", 8500, true],
    ["8000-9000", 9000, true],
    ["8000-9000", 9001, false],
    ["1-65535", 65535, true],
    ["1-65535", 0, false],
  ] as const)("port %s vs %i -> %s", (port, flowPort, expected) => {
    expect(matches({ action: "deny", destination: "*", port }, { address: "8.8.8.8", port: flowPort })).toBe(
      expected,
    );
    expect(
      matches(
        { action: "deny", destination: "*", port },
        { address: "8.8.8.8", port: flowPort, protocol: "udp" },
      ),
    ).toBe(expected);
  });

  it("a port rule never matches portless (ICMP) flows", () => {
    expect(
      matches(
        { action: "deny", destination: "*", port: "1-65535" },
        { address: "8.8.8.8", protocol: "icmpv4", port: undefined },
      ),
    ).toBe(false);
  });

  it.each([
    ["tcp", "tcp", true],
    ["tcp", "udp", false],
    ["udp", "udp", true],
    ["udp", "tcp", false],
    ["icmpv4", "icmpv4", true],
    ["icmpv4", "icmpv6", false],
    ["icmpv6", "icmpv6", true],
    [undefined, "icmpv4", true],
    [undefined, "udp", true],
  ] as const)("rule protocol %s vs flow %s -> %s", (protocol, flowProtocol, expected) => {
    const rule: PolicyRule =
      protocol === undefined
        ? { action: "deny", destination: "*" }
        : { action: "deny", destination: "*", protocol };
    const port = flowProtocol === "tcp" || flowProtocol === "udp" ? 53 : undefined;
    const address = flowProtocol === "icmpv6" ? "2606:4700::1" : "8.8.8.8";
    expect(matches(rule, { address, protocol: flowProtocol, port })).toBe(expected);
  });
});

describe("directions", () => {
  it.each([
    [undefined, "outbound", true],
    [undefined, "inbound", false],
    ["outbound", "inbound", false],
    ["inbound", "inbound", true],
    ["inbound", "outbound", false],
  ] as const)("rule %s vs flow %s -> %s", (direction, flowDirection, expected) => {
    const rule: PolicyRule =
      direction === undefined
        ? { action: "deny", destination: "*" }
        : { action: "deny", destination: "*", direction };
    expect(matches(rule, { address: "127.0.0.1", direction: flowDirection, port: 8080 })).toBe(expected);
  });

  it("inbound rules filter peers and published guest ports", () => {
    const config: NetworkConfig = {
      rules: [
        { action: "allow", direction: "inbound", destination: "loopback", port: "8080" },
        { action: "deny", direction: "inbound", destination: "*" },
      ],
    };
    const inbound = { direction: "inbound" } as const;
    expect(decide(config, { ...inbound, address: "127.0.0.1", port: 8080 }).action).toBe("allow");
    expect(decide(config, { ...inbound, address: "127.0.0.1", port: 9090 })).toMatchObject({
      action: "deny",
      rule: 1,
    });
    expect(decide(config, { ...inbound, address: "192.168.1.5", port: 8080 })).toMatchObject({
      action: "deny",
      rule: 1,
    });
    // Outbound flows are untouched by inbound rules.
    expect(decide(config, { address: "8.8.8.8" }).rule).toBeUndefined();
  });
});

describe("invalid flows are denied, never thrown", () => {
  it.each([
    [{ address: "not-an-ip" }, /invalid address/],
    [{ address: "10.0.0.1/8" }, /invalid address/],
    [{ address: "fe80::1%eth0" }, /invalid address/],
    [{ address: "8.8.8.8", port: 70000 }, /invalid port/],
    [{ address: "8.8.8.8", port: 1.5 }, /invalid port/],
    [{ address: "8.8.8.8", protocol: "sctp" }, /invalid protocol/],
    [{ address: "8.8.8.8", direction: "sideways" }, /invalid direction/],
  ])("%j", (flow, reason) => {
    const result = decide({ policy: "allow-all" }, flow as FlowInput);
    expect(result.action).toBe("deny");
    expect(result.reason).toMatch(reason);
  });
});
