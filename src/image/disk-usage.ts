/** Disk space a file or directory tree really takes (allocated blocks: sparse files count what they hold). */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { readdirOrEmpty } from "../os/read-dir.js";
import { isErrno } from "./fs-util.js";

/** Bytes allocated to `path` and, for a directory, to everything under it (symlinks are not followed). */
export async function allocatedBytes(path: string): Promise<number> {
  try {
    const info = await lstat(path);
    if (!info.isDirectory()) return info.blocks * 512;
    let total = info.blocks * 512;
    for (const name of await readdirOrEmpty(path)) total += await allocatedBytes(join(path, name));
    return total;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return 0;
    throw error;
  }
}
