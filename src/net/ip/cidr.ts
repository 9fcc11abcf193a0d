/**
 * CIDR prefixes of either family: parsing (strict: no host bits), containment.
 *
 * @packageDocumentation
 */
import { type IpAddress, formatIpAddress, parseIpAddress, unmapIpAddress } from "./address.js";
import { ipv4Mask } from "./ipv4.js";
import { ipv6Mask } from "./ipv6.js";

/** An IP prefix: the network address (host bits zero) and its length. */
export interface Cidr {
  readonly network: IpAddress;
  readonly prefixLength: number;
}

/** Result of {@link parseCidr}: the prefix, or why the text is not one. */
export type CidrParseResult =
  { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly message: string };

const PREFIX_LENGTH = /^\d{1,3}$/;

function maskAddress(address: IpAddress, prefixLength: number): IpAddress {
  return address.family === 4
    ? { family: 4, value: (address.value & ipv4Mask(prefixLength)) >>> 0 }
    : { family: 6, value: address.value & ipv6Mask(prefixLength) };
}

/**
 * Makes a prefix family-consistent with {@link unmapIpAddress}: an IPv6 prefix inside `::ffff:0:0/96`
 * (length >= 96) becomes the IPv4 prefix it covers, so it matches the unmapped addresses.
 */
function unmapCidr(cidr: Cidr): Cidr {
  if (cidr.network.family !== 6 || cidr.prefixLength < 96) return cidr;
  const network = unmapIpAddress(cidr.network);
  return network.family === 4 ? { network, prefixLength: cidr.prefixLength - 96 } : cidr;
}

/**
 * Parses `"10.0.0.0/8"` or `"2001:db8::/32"`. A bare address is accepted as a host prefix (`/32`, `/128`).
 * Host bits set (`"10.0.0.1/8"`) are rejected: that is usually a typo, and the message names the network.
 * IPv4-mapped IPv6 prefixes of length >= 96 are normalised to IPv4.
 */
export function parseCidr(text: string): CidrParseResult {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (address === undefined) return { ok: false, message: `"${addressText}" is not an IPv4 or IPv6 address` };
  const max = address.family === 4 ? 32 : 128;
  let prefixLength = max;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(lengthText) || Number(lengthText) > max) {
      return { ok: false, message: `prefix length "${lengthText}" must be an integer from 0 to ${max}` };
    }
    prefixLength = Number(lengthText);
  }
  const network = maskAddress(address, prefixLength);
  if (network.value !== address.value) {
    return {
      ok: false,
      message: `host bits are set; did you mean "${formatIpAddress(network)}/${prefixLength}"?`,
    };
  }
  return { ok: true, cidr: unmapCidr({ network, prefixLength }) };
}

/** Parses a CIDR known to be valid (tables in this code base); throws a plain Error on a bad literal. */
export function cidr(text: string): Cidr {
  const result = parseCidr(text);
  if (!result.ok) throw new Error(`bad built-in CIDR ${text}: ${result.message}`);
  return result.cidr;
}

/** True when `address` lies inside `prefix` (same family only; unmap addresses first). */
export function cidrContains(prefix: Cidr, address: IpAddress): boolean {
  if (prefix.network.family === 4 && address.family === 4) {
    return (address.value & ipv4Mask(prefix.prefixLength)) >>> 0 === prefix.network.value;
  }
  if (prefix.network.family === 6 && address.family === 6) {
    return (address.value & ipv6Mask(prefix.prefixLength)) === prefix.network.value;
  }
  return false;
}

/** Formats a prefix as `network/length`. */
export function formatCidr(prefix: Cidr): string {
  return `${formatIpAddress(prefix.network)}/${prefix.prefixLength}`;
}
