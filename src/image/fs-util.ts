/** Small filesystem helpers shared by the image cache and the root-disk builder. */
import { randomBytes } from "node:crypto";
import { rm, unlink } from "node:fs/promises";
import { join } from "node:path";

/** True when `error` is a Node system error with the given `code` (`ENOENT`, `EEXIST`, ...). */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}

/** Unlinks `path`; a missing file is not an error. */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
}

/** Removes a file or directory tree; a missing one is not an error. Never follows symlinks. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * A unique scratch name in `dir` that names its creator: `<prefix>.<pid>.<random>.tmp`. {@link tempOwnerPid} reads the
 * pid back, so a cleaner can tell a live writer's file from a crashed one's.
 */
export function tempPath(dir: string, prefix: string): string {
  return join(dir, `${prefix}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** The pid encoded in a {@link tempPath} name, or undefined when the name is not one. */
export function tempOwnerPid(name: string): number | undefined {
  const match = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** True when a process with this pid exists (on this host). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, "ESRCH");
  }
}
