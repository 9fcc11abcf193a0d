/** Small filesystem helpers shared by the image cache and the root-disk builder. */
import { rm, unlink } from "node:fs/promises";
import { scratchPath } from "../os/scratch-name.js";

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
 * A unique scratch name in `dir` that names its creator (pid and start time: see `os/scratch-name.ts`), so a
 * cleaner can tell a live writer's file from a crashed one's.
 */
export function tempPath(dir: string, prefix: string): string {
  return scratchPath(dir, prefix);
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
