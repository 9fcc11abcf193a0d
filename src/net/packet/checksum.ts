/**
 * The Internet checksum (RFC 1071) and the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 9293).
 *
 * @packageDocumentation
 */

/** True on little-endian hosts (the typed-array fast path reads native words). */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Below this length the byte loop is as fast as setting up the word view. */
const WORD_PATH_MIN = 64;

/** Sum of the big-endian 16-bit words of `bytes[from, to)`, pairs counted from `pairStart` (byte loop). */
function sumBytes(bytes: Uint8Array, from: number, to: number, pairStart: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += ((i - pairStart) & 1) === 0 ? (bytes[i] ?? 0) << 8 : (bytes[i] ?? 0);
  return sum;
}

/** Folds to 16 bits with end-around carry (no complement). */
function fold16(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

function swap16(word: number): number {
  return ((word & 0xff) << 8) | (word >>> 8);
}

/**
 * Adds the 16-bit big-endian words of `bytes[start, end)` (an odd trailing byte is padded with zero) to
 * `initial`, without the final fold. Partial sums can be chained; fold once with {@link finishChecksum}.
 *
 * Long inputs are summed as aligned native 32-bit words and byte-swapped once at the end: the one's
 * complement sum does not depend on byte order (RFC 1071 section 2), so this gives the same checksum.
 */
export function sumWords(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): number {
  const length = end - start;
  if (length < WORD_PATH_MIN) return initial + sumBytes(bytes, start, end, start);
  // [start, head) byte loop, [head, tail) aligned 32-bit words, [tail, end) byte loop.
  const head = start + ((4 - ((bytes.byteOffset + start) % 4)) % 4);
  const words = Math.floor((end - head) / 4);
  const tail = head + words * 4;
  const view = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
  let native = 0;
  // Fold every 2^20 words so the float sum stays exact (2^20 * 2^32 is far below 2^53).
  for (let from = 0; from < words; from += 1 << 20) {
    const to = Math.min(words, from + (1 << 20));
    for (let i = from; i < to; i++) native += view[i] ?? 0;
    native = fold16(native);
  }
  // Native words read little-endian pair bytes (b0 | b1 << 8): a byte swap turns their sum into the
  // big-endian one when the words start on an even offset from `start`; from an odd offset the pairing
  // itself is shifted by one byte, which is the same swap again.
  let middle = native;
  if (NATIVE_LITTLE_ENDIAN === ((head - start) % 2 === 0)) middle = swap16(middle);
  return initial + sumBytes(bytes, start, head, start) + middle + sumBytes(bytes, tail, end, start);
}

/** Folds a word sum to 16 bits with end-around carry and returns its one's complement. */
export function finishChecksum(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/**
 * The Internet checksum of `bytes[start, end)` (all of it by default) plus `initial`. Over a header that contains
 * a correct checksum field it is 0.
 */
export function internetChecksum(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): number {
  return finishChecksum(sumWords(bytes, initial, start, end));
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
