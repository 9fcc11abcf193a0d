import { describe, expect, it } from "vitest";
import { parseIpAddress } from "./address.js";
import { cidrContains, formatCidr } from "./cidr.js";
import { classifyAddress, isPublicAddress, specialRanges } from "./special.js";

function classify(text: string) {
  const address = parseIpAddress(text);
  if (address === undefined) throw new Error(text);
  return classifyAddress(address);
}

describe("classifyAddress", () => {
  it.each([
    // IPv4 non-global
    ["0.0.0.0", false, /This host/],
    ["0.1.2.3", false, /This network/],
    ["10.0.0.1", false, /Private-Use/],
    ["100.64.0.1", false, /Shared Address/],
    ["100.127.255.255", false, /Shared Address/],
    ["127.0.0.1", false, /Loopback/],
    ["127.255.255.254", false, /Loopback/],
    ["169.254.1.1", false, /Link Local/],
    ["169.254.169.254", false, /metadata/],
    ["172.16.0.1", false, /Private-Use/],
    ["172.31.255.255", false, /Private-Use/],
    ["192.0.0.1", false, /Service Continuity/],
    ["192.0.0.8", false, /dummy/],
    ["192.0.0.100", false, /IETF Protocol/],
    ["192.0.0.170", false, /NAT64/],
    ["192.0.2.1", false, /TEST-NET-1/],
    ["192.88.99.1", false, /6to4/],
    ["192.88.99.2", false, /6a44/],
    ["192.168.1.1", false, /Private-Use/],
    ["198.18.0.1", false, /Benchmarking/],
    ["198.19.255.255", false, /Benchmarking/],
    ["198.51.100.1", false, /TEST-NET-2/],
    ["203.0.113.1", false, /TEST-NET-3/],
    ["224.0.0.1", false, /Multicast/],
    ["239.255.255.250", false, /Multicast/],
    ["240.0.0.1", false, /Reserved/],
    ["255.255.255.255", false, /Broadcast/],
    // IPv4 global, including the registry's globally reachable exceptions and neighbours of special blocks
    ["1.1.1.1", true, /global unicast/],
    ["8.8.8.8", true, /global unicast/],
    ["100.63.255.255", true, /global unicast/],
    ["100.128.0.0", true, /global unicast/],
    ["172.15.255.255", true, /global unicast/],
    ["172.32.0.0", true, /global unicast/],
    ["192.0.0.9", true, /Port Control/],
    ["192.0.0.10", true, /Traversal/],
    ["192.31.196.1", true, /AS112/],
    ["192.52.193.1", true, /AMT/],
    ["192.175.48.1", true, /AS112/],
    ["198.17.255.255", true, /global unicast/],
    ["198.20.0.0", true, /global unicast/],
    ["223.255.255.255", true, /global unicast/],
    // IPv6
    ["::", false, /Unspecified/],
    ["::1", false, /Loopback/],
    ["::ffff:127.0.0.1", false, /Loopback/],
    ["::ffff:10.0.0.1", false, /Private-Use/],
    ["::ffff:8.8.8.8", true, /global unicast/],
    ["::8.8.8.8", false, /outside 2000::\/3/],
    ["64:ff9b::8.8.8.8", true, /NAT64.*global unicast/],
    ["64:ff9b::10.0.0.1", false, /NAT64.*Private-Use/],
    ["64:ff9b::169.254.169.254", false, /NAT64.*metadata/],
    ["64:ff9b:1::1", false, /local use/],
    ["100::1", false, /Discard/],
    ["100:0:0:1::1", false, /Dummy/],
    ["2001::1", false, /TEREDO/],
    ["2001:1::1", true, /Port Control/],
    ["2001:1::2", true, /Traversal/],
    ["2001:1::3", true, /DNS-SD/],
    ["2001:1::4", false, /IETF Protocol/],
    ["2001:2::1", false, /Benchmarking/],
    ["2001:3::1", true, /AMT/],
    ["2001:4:112::1", true, /AS112/],
    ["2001:10::1", false, /ORCHID/],
    ["2001:20::1", true, /ORCHIDv2/],
    ["2001:30::1", true, /Drone/],
    ["2001:200::1", true, /global unicast/],
    ["2001:db8::1", false, /Documentation/],
    ["2002:a00:1::1", false, /6to4/],
    ["2606:4700:4700::1111", true, /global unicast/],
    ["2620:4f:8000::1", true, /AS112/],
    ["3fff::1", false, /Documentation/],
    ["3fff:1000::1", true, /global unicast/],
    ["4000::1", false, /outside 2000::\/3/],
    ["5f00::1", false, /SRv6/],
    ["fc00::1", false, /Unique-Local/],
    ["fd00:ec2::254", false, /metadata/],
    ["fd12:3456::1", false, /Unique-Local/],
    ["fe80::1", false, /Link-Local/],
    ["fec0::1", false, /Site-Local/],
    ["ff02::1", false, /Multicast/],
    ["1fff:ffff::1", false, /outside 2000::\/3/],
  ])("%s global=%s", (text, global, description) => {
    const result = classify(text);
    expect(result.global).toBe(global);
    expect(result.description).toMatch(description);
    const address = parseIpAddress(text);
    if (address !== undefined) expect(isPublicAddress(address)).toBe(global);
  });

  it("classifies every registry row's network address by that row unless a more specific row covers it", () => {
    const rows = specialRanges();
    for (const range of rows) {
      const network = range.prefix.network;
      const shadowed = rows.some(
        (r) => r.prefix.prefixLength > range.prefix.prefixLength && cidrContains(r.prefix, network),
      );
      if (shadowed) continue;
      const result = classifyAddress(network);
      expect(result.global, formatCidr(range.prefix)).toBe(range.global);
      expect(result.description).toContain(range.name);
    }
  });
});
