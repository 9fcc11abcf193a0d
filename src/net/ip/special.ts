/**
 * Address classification from the IANA special-purpose registries (iana-ipv4-special-registry and
 * iana-ipv6-special-registry, as updated 2025-10), plus the multicast blocks, the limited broadcast address
 * and the IPv6 global unicast allocation (2000::/3). The `public-only` preset allows exactly the addresses
 * {@link classifyAddress} reports as `global`.
 *
 * Decisions where the registry says "N/A" or nothing: 6to4 (`2002::/16`), Teredo (`2001::/32`), the
 * deprecated 6to4 relay anycast block (`192.88.99.0/24`), ORCHID (`2001:10::/28`), site-local
 * (`fec0::/10`) and every IPv6 address outside `2000::/3` are not global. IPv4-mapped addresses
 * (`::ffff:0:0/96`) and the NAT64 well-known prefix (`64:ff9b::/96`) are classified by their IPv4 part.
 *
 * @packageDocumentation
 */
import { type IpAddress, unmapIpAddress } from "./address.js";
import { type Cidr, cidr, cidrContains } from "./cidr.js";

/** One row of the special-purpose tables. */
export interface SpecialRange {
  /** The block. */
  readonly prefix: Cidr;
  /** The registry's name for it. */
  readonly name: string;
  /** Where it is defined. */
  readonly reference: string;
  /** The registry's "Globally Reachable" column (N/A and blank read as false). */
  readonly global: boolean;
}

/** What {@link classifyAddress} found: the most specific row, or the family's default. */
export interface AddressClass {
  /** True when the address is globally reachable (what `public-only` allows). */
  readonly global: boolean;
  /** Human-readable class, e.g. `"Private-Use (RFC 1918)"`, `"global unicast"`. */
  readonly description: string;
}

function row(text: string, name: string, reference: string, global = false): SpecialRange {
  return { prefix: cidr(text), name, reference, global };
}

/** IPv4 rows, most specific first. */
const IPV4_SPECIAL: readonly SpecialRange[] = sortBySpecificity([
  row("0.0.0.0/8", '"This network"', "RFC 791"),
  row("0.0.0.0/32", '"This host on this network"', "RFC 1122"),
  row("10.0.0.0/8", "Private-Use", "RFC 1918"),
  row("100.64.0.0/10", "Shared Address Space (CGNAT)", "RFC 6598"),
  row("127.0.0.0/8", "Loopback", "RFC 1122"),
  row("169.254.0.0/16", "Link Local", "RFC 3927"),
  row("169.254.169.254/32", "Cloud metadata service", "link-local"),
  row("172.16.0.0/12", "Private-Use", "RFC 1918"),
  row("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890"),
  row("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335"),
  row("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
  row("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", true),
  row("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", true),
  row("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880"),
  row("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880"),
  row("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737"),
  row("192.31.196.0/24", "AS112-v4", "RFC 7535", true),
  row("192.52.193.0/24", "AMT", "RFC 7450", true),
  row("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526"),
  row("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751"),
  row("192.168.0.0/16", "Private-Use", "RFC 1918"),
  row("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", true),
  row("198.18.0.0/15", "Benchmarking", "RFC 2544"),
  row("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737"),
  row("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737"),
  row("224.0.0.0/4", "Multicast", "RFC 5771"),
  row("240.0.0.0/4", "Reserved", "RFC 1112"),
  row("255.255.255.255/32", "Limited Broadcast", "RFC 919"),
]);

/** IPv6 rows, most specific first. */
const IPV6_SPECIAL: readonly SpecialRange[] = sortBySpecificity([
  row("::/128", "Unspecified Address", "RFC 4291"),
  row("::1/128", "Loopback Address", "RFC 4291"),
  row("64:ff9b:1::/48", "IPv4-IPv6 Translation (local use)", "RFC 8215"),
  row("100::/64", "Discard-Only Address Block", "RFC 6666"),
  row("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780"),
  row("2001::/23", "IETF Protocol Assignments", "RFC 2928"),
  row("2001::/32", "TEREDO", "RFC 4380"),
  row("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", true),
  row("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", true),
  row("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", true),
  row("2001:2::/48", "Benchmarking", "RFC 5180"),
  row("2001:3::/32", "AMT", "RFC 7450", true),
  row("2001:4:112::/48", "AS112-v6", "RFC 7535", true),
  row("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843"),
  row("2001:20::/28", "ORCHIDv2", "RFC 7343", true),
  row("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", true),
  row("2001:db8::/32", "Documentation", "RFC 3849"),
  row("2002::/16", "6to4", "RFC 3056"),
  row("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", true),
  row("3fff::/20", "Documentation", "RFC 9637"),
  row("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602"),
  row("fc00::/7", "Unique-Local", "RFC 4193"),
  row("fd00:ec2::254/128", "Cloud metadata service", "unique-local"),
  row("fe80::/10", "Link-Local Unicast", "RFC 4291"),
  row("fec0::/10", "Site-Local (deprecated)", "RFC 3879"),
  row("ff00::/8", "Multicast", "RFC 4291"),
]);

const GLOBAL_UNICAST_V6 = cidr("2000::/3");
const NAT64_WELL_KNOWN = cidr("64:ff9b::/96");

function sortBySpecificity(rows: SpecialRange[]): readonly SpecialRange[] {
  return Object.freeze([...rows].sort((a, b) => b.prefix.prefixLength - a.prefix.prefixLength));
}

function describe(found: SpecialRange): AddressClass {
  return { global: found.global, description: `${found.name} (${found.reference})` };
}

/** The special-purpose rows used for classification (IPv4 then IPv6, each most specific first). */
export function specialRanges(): readonly SpecialRange[] {
  return [...IPV4_SPECIAL, ...IPV6_SPECIAL];
}

/**
 * Classifies an address against the special-purpose registries: the most specific matching row decides;
 * an IPv4 address matching no row is global unicast; an IPv6 address matching no row is global only inside
 * `2000::/3`. IPv4-mapped and NAT64 (`64:ff9b::/96`) addresses are classified by their IPv4 part.
 */
export function classifyAddress(input: IpAddress): AddressClass {
  const address = unmapIpAddress(input);
  if (address.family === 6 && cidrContains(NAT64_WELL_KNOWN, address)) {
    const inner = classifyAddress({ family: 4, value: Number(address.value & 0xffffffffn) });
    return { global: inner.global, description: `NAT64 (RFC 6052) of ${inner.description}` };
  }
  const table = address.family === 4 ? IPV4_SPECIAL : IPV6_SPECIAL;
  const found = table.find((r) => cidrContains(r.prefix, address));
  if (found !== undefined) return describe(found);
  if (address.family === 4) return { global: true, description: "global unicast" };
  return cidrContains(GLOBAL_UNICAST_V6, address)
    ? { global: true, description: "global unicast" }
    : { global: false, description: "reserved by IETF (outside 2000::/3, RFC 4291)" };
}

/** True when the address is globally reachable; what the `public-only` preset (and DNS rebind protection) allow. */
export function isPublicAddress(address: IpAddress): boolean {
  return classifyAddress(address).global;
}
