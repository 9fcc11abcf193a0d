/**
 * IPv6 addresses as 128-bit bigints, their text form (RFC 4291 section 2.2, printed per RFC 5952).
 *
 * @packageDocumentation
 */
import { formatIpv4, parseIpv4 } from "./ipv4.js";

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ALL_ONES_128 = (1n << 128n) - 1n;

function parseGroups(text: string): number[] | undefined {
  if (text === "") return [];
  const groups: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? "";
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/**
 * Parses an IPv6 address (`"2001:db8::1"`, `"::ffff:192.0.2.1"`) into a 128-bit bigint. Zone indices
 * (`"fe80::1%eth0"`), brackets and prefix lengths are rejected. Returns `undefined` when `text` is not an address.
 */
export function parseIpv6(text: string): bigint | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  // An embedded IPv4 part is only allowed at the very end.
  if (halves.length === 2 && (halves[0] ?? "").includes(".")) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

function longestZeroRun(groups: readonly number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 };
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > best.length) best = { start, length: i - start };
      start = -1;
    }
  }
  return best.length >= 2 ? best : { start: -1, length: 0 };
}

/** Formats a 128-bit bigint as an IPv6 address in RFC 5952 canonical form (`::ffff:a.b.c.d` for mapped). */
export function formatIpv6(value: bigint): string {
  const v = value & ALL_ONES_128;
  if (v >> 32n === 0xffffn) return `::ffff:${formatIpv4(Number(v & 0xffffffffn))}`;
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  const run = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (run.start < 0) return hex.join(":");
  const left = hex.slice(0, run.start).join(":");
  const right = hex.slice(run.start + run.length).join(":");
  return `${left}::${right}`;
}

/** The network mask of an IPv6 prefix length (0..128), as a 128-bit bigint. */
export function ipv6Mask(prefixLength: number): bigint {
  if (prefixLength <= 0) return 0n;
  const bits = BigInt(Math.min(prefixLength, 128));
  return (ALL_ONES_128 << (128n - bits)) & ALL_ONES_128;
}
