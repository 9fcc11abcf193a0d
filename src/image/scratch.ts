/**
 * Removal of abandoned scratch: what an interrupted pull (`tmp/blob-*.tmp`), base-disk build (`tmp/rootfs-*.tmp`,
 * holding a sparse disk file of a GB or more), RAM staging (`/dev/shm/msb-staging-*`) or raw VM (`tmp/vm.*.tmp`)
 * left behind when its process died. Entries are recognised by their scratch name (see `os/scratch-name.ts`) and
 * removed only when the process that made them no longer runs, so a concurrent live operation is never disturbed.
 */
import { join } from "node:path";
import { scratchAbandoned } from "../os/scratch-name.js";
import { readdirOrEmpty } from "./blob-store.js";
import { allocatedBytes } from "./disk-usage.js";
import { isErrno, removeTree } from "./fs-util.js";
import { RAM_STAGING_DIR, RAM_STAGING_PREFIX } from "./rootfs/staging.js";

/** What a clean-up removed. */
export interface ScratchCleanup {
  /** Absolute paths removed. */
  readonly removed: readonly string[];
  /** Disk (or RAM) space given back: allocated blocks, in bytes. */
  readonly bytesFreed: number;
}

/** Removes the abandoned scratch entries of `dir` whose names start with `prefix`. */
export async function removeAbandonedScratch(dir: string, prefix = ""): Promise<ScratchCleanup> {
  const removed: string[] = [];
  let bytesFreed = 0;
  for (const name of await readdirOrEmpty(dir)) {
    if (!name.startsWith(prefix) || !scratchAbandoned(name)) continue;
    const path = join(dir, name);
    try {
      const size = await allocatedBytes(path);
      await removeTree(path);
      removed.push(path);
      bytesFreed += size;
    } catch (error) {
      // Another user's leftovers (a shared /dev/shm): not ours to remove.
      if (!isErrno(error, "EACCES") && !isErrno(error, "EPERM")) throw error;
    }
  }
  return { removed, bytesFreed };
}

/** Cleans the state directory's scratch (`tmpDir`) and this library's RAM staging directories. */
export async function cleanAbandonedScratch(tmpDir: string): Promise<ScratchCleanup> {
  const home = await removeAbandonedScratch(tmpDir);
  const ram = await removeAbandonedScratch(RAM_STAGING_DIR, RAM_STAGING_PREFIX);
  return { removed: [...home.removed, ...ram.removed], bytesFreed: home.bytesFreed + ram.bytesFreed };
}
