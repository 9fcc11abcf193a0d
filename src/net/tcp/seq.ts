/**
 * 32-bit sequence number arithmetic (RFC 9293 section 3.4): comparisons are modulo 2^32, valid while the two
 * numbers are less than 2^31 apart.
 *
 * @packageDocumentation
 */

/** `a + n` modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance `a - b` (negative when `a` is before `b`). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}

/** `low <= value < low + size` in sequence space. */
export function seqInWindow(value: number, low: number, size: number): boolean {
  const offset = seqDiff(value, low);
  return offset >= 0 && offset < size;
}
