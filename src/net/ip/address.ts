/**
 * A parsed IP address of either family, with the IPv4-mapped IPv6 normalisation the policy relies on.
 *
 * @packageDocumentation
 */
import { formatIpv4, parseIpv4 } from "./ipv4.js";
import { formatIpv6, parseIpv6 } from "./ipv6.js";

/** An IPv4 address (`value`: unsigned 32-bit number). */
export interface Ipv4Address {
  readonly family: 4;
  readonly value: number;
}

/** An IPv6 address (`value`: 128-bit bigint). */
export interface Ipv6Address {
  readonly family: 6;
  readonly value: bigint;
}

/** An IP address of either family. */
export type IpAddress = Ipv4Address | Ipv6Address;

const MAPPED_PREFIX = 0xffffn << 32n;

/** Parses an IPv4 or IPv6 address literal, exactly as written (no normalisation). `undefined` if invalid. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

/**
 * Returns the IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 section 2.5.5.2) stands
 * for; any other address is returned unchanged. Traffic to a mapped address is IPv4 traffic, so the policy
 * always judges the IPv4 address.
 */
export function unmapIpAddress(address: IpAddress): IpAddress {
  if (address.family === 6 && address.value >> 32n === MAPPED_PREFIX >> 32n) {
    return { family: 4, value: Number(address.value & 0xffffffffn) };
  }
  return address;
}

/** Parses an address literal and unmaps IPv4-mapped IPv6 addresses (see {@link unmapIpAddress}). */
export function parseNormalizedIpAddress(text: string): IpAddress | undefined {
  const address = parseIpAddress(text);
  return address === undefined ? undefined : unmapIpAddress(address);
}

/** Formats an address in its canonical text form. */
export function formatIpAddress(address: IpAddress): string {
  return address.family === 4 ? formatIpv4(address.value) : formatIpv6(address.value);
}
