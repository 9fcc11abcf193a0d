import { describe, expect, it } from "vitest";
import { decide } from "./decide.fixture.js";
import { NetworkPolicy } from "./presets.js";
import type { NetworkConfig } from "./types.js";

/** [address, class, allowed by public-only] — one or more addresses of every class, both families. */
const ADDRESS_CLASSES: readonly (readonly [string, string, boolean])[] = [
  ["8.8.8.8", "public v4", true],
  ["1.1.1.1", "public v4", true],
  ["2606:4700:4700::1111", "public v6", true],
  ["::ffff:8.8.8.8", "public v4 (mapped)", true],
  ["64:ff9b::808:808", "public v4 via NAT64", true],
  ["127.0.0.1", "loopback", false],
  ["127.1.2.3", "loopback", false],
  ["::1", "loopback v6", false],
  ["::ffff:127.0.0.1", "loopback (mapped)", false],
  ["10.0.0.1", "private", false],
  ["172.16.5.4", "private", false],
  ["192.168.1.1", "private", false],
  ["::ffff:192.168.1.1", "private (mapped)", false],
  ["100.64.0.1", "CGNAT", false],
  ["169.254.0.1", "link-local", false],
  ["fe80::1", "link-local v6", false],
  ["169.254.169.254", "metadata", false],
  ["fd00:ec2::254", "metadata v6", false],
  ["224.0.0.251", "multicast", false],
  ["ff02::fb", "multicast v6", false],
  ["255.255.255.255", "broadcast", false],
  ["fc00::1", "ULA", false],
  ["fd12::1", "ULA", false],
  ["0.0.0.0", "this host", false],
  ["0.1.2.3", "this network", false],
  ["::", "unspecified v6", false],
  ["192.0.2.1", "documentation", false],
  ["198.51.100.1", "documentation", false],
  ["203.0.113.1", "documentation", false],
  ["2001:db8::1", "documentation v6", false],
  ["3fff::1", "documentation v6", false],
  ["198.18.0.1", "benchmarking", false],
  ["2001:2::1", "benchmarking v6", false],
  ["240.0.0.1", "reserved", false],
  ["192.0.0.8", "IETF protocol assignments", false],
  ["192.88.99.1", "6to4 relay", false],
  ["2002:a00:1::", "6to4 v6", false],
  ["2001::1", "Teredo", false],
  ["64:ff9b::a00:1", "private via NAT64", false],
  ["64:ff9b:1::1", "local-use NAT64", false],
  ["100::1", "discard-only", false],
  ["5f00::1", "SRv6", false],
  ["fec0::1", "site-local", false],
  ["4000::1", "unallocated v6", false],
];

describe("presets against every address class", () => {
  it.each(ADDRESS_CLASSES)(
    "%s (%s): public-only allowed=%s, none denies, allow-all allows",
    (address, _class, publicAllowed) => {
      for (const protocol of ["tcp", "udp"] as const) {
        expect(decide(NetworkPolicy.publicOnly(), { address, protocol }).action).toBe(
          publicAllowed ? "allow" : "deny",
        );
        expect(decide({}, { address, protocol }).action).toBe(publicAllowed ? "allow" : "deny");
        expect(decide(NetworkPolicy.none(), { address, protocol }).action).toBe("deny");
        expect(decide(NetworkPolicy.allowAll(), { address, protocol }).action).toBe("allow");
      }
      const icmp = address.includes(":") ? "icmpv6" : "icmpv4";
      expect(decide({}, { address, protocol: icmp, port: undefined }).action).toBe(
        publicAllowed ? "allow" : "deny",
      );
    },
  );

  it("explains public-only denials with the registry entry", () => {
    expect(decide({}, { address: "10.1.2.3" })).toEqual({
      action: "deny",
      reason: 'policy "public-only" denies 10.1.2.3: Private-Use (RFC 1918)',
    });
    expect(decide({}, { address: "::ffff:169.254.169.254" }).reason).toMatch(
      /169\.254\.169\.254: Cloud metadata/,
    );
    expect(decide({}, { address: "8.8.8.8" })).toEqual({
      action: "allow",
      reason: "no rule matched 8.8.8.8; default action allow",
    });
  });

  it("returns fresh configs from the factories", () => {
    expect(NetworkPolicy.none()).toEqual({ policy: "none" });
    expect(NetworkPolicy.publicOnly()).toEqual({ policy: "public-only" });
    expect(NetworkPolicy.allowAll()).toEqual({ policy: "allow-all" });
    expect(NetworkPolicy.none()).not.toBe(NetworkPolicy.none());
  });
});

describe("defaultAction", () => {
  it("public-only + deny: public addresses need a rule", () => {
    const config: NetworkConfig = {
      defaultAction: "deny",
      rules: [{ action: "allow", destination: "1.1.1.1" }],
    };
    expect(decide(config, { address: "1.1.1.1" }).action).toBe("allow");
    expect(decide(config, { address: "8.8.8.8" })).toEqual({
      action: "deny",
      reason: "no rule matched 8.8.8.8; default action deny",
    });
    expect(decide(config, { address: "10.0.0.1" }).reason).toMatch(/public-only/);
  });

  it("allow-all + allow and none + deny are accepted as redundant", () => {
    expect(decide({ policy: "allow-all", defaultAction: "allow" }, { address: "10.0.0.1" }).action).toBe(
      "allow",
    );
    expect(decide({ policy: "none", defaultAction: "deny" }, { address: "8.8.8.8" }).action).toBe("deny");
  });

  it("rules open holes in none and public-only and close holes in allow-all", () => {
    expect(
      decide({ policy: "none", rules: [{ action: "allow", destination: "8.8.8.8" }] }, { address: "8.8.8.8" })
        .action,
    ).toBe("allow");
    expect(
      decide(
        { rules: [{ action: "allow", destination: "192.168.1.10", port: "5432" }] },
        { address: "192.168.1.10", port: 5432 },
      ).action,
    ).toBe("allow");
    expect(
      decide(
        { rules: [{ action: "allow", destination: "192.168.1.10", port: "5432" }] },
        { address: "192.168.1.10", port: 22 },
      ).action,
    ).toBe("deny");
    expect(
      decide(
        { policy: "allow-all", rules: [{ action: "deny", destination: "metadata" }] },
        { address: "169.254.169.254" },
      ).action,
    ).toBe("deny");
    expect(
      decide(
        { policy: "allow-all", rules: [{ action: "deny", destination: "metadata" }] },
        { address: "127.0.0.1" },
      ).action,
    ).toBe("allow");
  });
});

describe("inbound defaults", () => {
  it("published ports are reachable unless the policy is none or an inbound rule denies", () => {
    const flow = { direction: "inbound", address: "127.0.0.1", port: 8080 } as const;
    expect(decide({}, flow).action).toBe("allow");
    expect(decide({ policy: "allow-all" }, flow).action).toBe("allow");
    expect(decide({ defaultAction: "deny" }, flow).action).toBe("allow");
    expect(decide({ policy: "none" }, flow).action).toBe("deny");
    expect(
      decide(
        { policy: "none", rules: [{ action: "allow", direction: "inbound", destination: "loopback" }] },
        flow,
      ).action,
    ).toBe("allow");
  });
});
