/**
 * IPv4 addresses as unsigned 32-bit numbers, and their strict dotted-quad text form.
 *
 * @packageDocumentation
 */

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parses a strict dotted-quad IPv4 address (`"192.0.2.1"`) into an unsigned 32-bit number.
 * Leading zeros (`"010.0.0.1"`, ambiguous: octal to some parsers), short forms (`"10.1"`), hex and
 * octets above 255 are rejected. Returns `undefined` when `text` is not such an address.
 */
export function parseIpv4(text: string): number | undefined {
  const match = DOTTED_QUAD.exec(text);
  if (match === null) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = match[i] ?? "";
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats an unsigned 32-bit number as a dotted-quad IPv4 address. */
export function formatIpv4(value: number): string {
  const v = value >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** The network mask of an IPv4 prefix length (0..32), as an unsigned 32-bit number. */
export function ipv4Mask(prefixLength: number): number {
  return prefixLength <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLength, 32))) >>> 0;
}
