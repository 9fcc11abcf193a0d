/**
 * Big-endian field access on byte arrays. Reads past the end return 0 (callers check lengths first; this keeps
 * a missed check from ever turning into an exception), writes past the end are ignored by Uint8Array.
 *
 * @packageDocumentation
 */

/** Reads an unsigned byte. */
export function readU8(bytes: Uint8Array, offset: number): number {
  return bytes[offset] ?? 0;
}

/** Reads an unsigned big-endian 16-bit value. */
export function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

/** Reads an unsigned big-endian 32-bit value. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) |
      ((bytes[offset + 1] ?? 0) << 16) |
      ((bytes[offset + 2] ?? 0) << 8) |
      (bytes[offset + 3] ?? 0)) >>>
    0
  );
}

/** Writes an unsigned big-endian 16-bit value. */
export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

/** Writes an unsigned big-endian 32-bit value. */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** True when `value` is an integer in `[0, max]`. */
export function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
