/**
 * The unix socket path limit: Linux's `sun_path` holds 108 bytes with the terminating NUL. Node does not refuse a
 * longer path: it truncates it, so one socket may land on another's name and fail with a misleading error, or
 * two truncations may happen to agree. Every socket path is checked against this limit before it is used.
 */
import { randomBytes } from "node:crypto";
import { InvalidConfigError } from "../errors.js";

/** Longest unix socket path Linux accepts, in bytes. */
export const MAX_SOCKET_PATH = 107;

/**
 * Characters of a VM run directory's name (`run/<name>`, a sandbox's or an owned one's): 6 random bytes in hex,
 * short so the sockets inside fit {@link MAX_SOCKET_PATH} under as long a state directory as possible.
 */
export const RUN_DIR_NAME_CHARS = 12;

/** A fresh run directory name of {@link RUN_DIR_NAME_CHARS}. */
export function newRunDirName(): string {
  return randomBytes(RUN_DIR_NAME_CHARS / 2).toString("hex");
}

/** Throws {@link InvalidConfigError} naming `field` when `path` is longer than a unix socket path may be. */
export function checkSocketPath(path: string, field: string, hint: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH) {
    throw new InvalidConfigError(
      field,
      `socket path ${path} is ${bytes} bytes, longer than ${MAX_SOCKET_PATH}`,
      {
        hint,
      },
    );
  }
}
