/**
 * The Internet checksum (RFC 1071) and the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 9293).
 *
 * @packageDocumentation
 */

/**
 * Adds the 16-bit big-endian words of `bytes` (an odd trailing byte is padded with zero) to `initial`,
 * without folding. Partial sums can be chained; fold once with {@link finishChecksum}.
 */
export function sumWords(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length - (bytes.length % 2);
  for (let i = 0; i < even; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (even < bytes.length) sum += (bytes[even] ?? 0) << 8;
  return sum;
}

/** Folds a word sum to 16 bits with end-around carry and returns its one's complement. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The Internet checksum of `bytes`. Over a header that contains a correct checksum field it is 0. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return finishChecksum(sumWords(bytes, initial));
}

/** The word sum of the IPv4 pseudo-header (source, destination, zero, protocol, upper-layer length). */
export function ipv4PseudoHeaderSum(
  source: number,
  destination: number,
  protocol: number,
  length: number,
): number {
  return (
    (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length
  );
}
