/**
 * The two checks every config validator shares: failing with an {@link InvalidConfigError} that names the field,
 * and a guest path (absolute, no NUL or newline, at most PATH_MAX - 1 bytes, not the root), normalised.
 *
 * @packageDocumentation
 */
import { posix } from "node:path";
import { InvalidConfigError } from "../errors.js";

/** Longest guest path the kernel takes: PATH_MAX (4096) bytes including the terminating NUL. */
export const MAX_GUEST_PATH_BYTES = 4095;

/** Throws an {@link InvalidConfigError} for `field` (a dotted path such as `volumes./data.sizeMib`). */
export function failConfig(field: string, message: string, hint?: string): never {
  throw new InvalidConfigError(field, message, hint === undefined ? {} : { hint });
}

/**
 * The normalised form of guest path `value` (no `.`/`..` segments, no trailing `/`), or an error naming `field`:
 * it must be an absolute path of at most {@link MAX_GUEST_PATH_BYTES} bytes, without NUL or newline, and not `/`.
 */
export function guestPath(field: string, value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/"))
    failConfig(field, `must be an absolute guest path, got ${JSON.stringify(value)}`);
  if (/[\0\n]/.test(value)) failConfig(field, "must not contain a NUL byte or a newline");
  if (Buffer.byteLength(value) > MAX_GUEST_PATH_BYTES)
    failConfig(field, `is longer than ${MAX_GUEST_PATH_BYTES} bytes (PATH_MAX)`);
  const normalised = posix.normalize(value).replace(/\/+$/, "");
  if (normalised === "") failConfig(field, "must not be the root directory");
  return normalised;
}
