/**
 * Removal of abandoned scratch: what an interrupted pull (`tmp/blob-*.tmp`), base-disk build (`tmp/rootfs-*.tmp`,
 * holding a sparse disk file of a GB or more), RAM staging (`/dev/shm/msb-staging-*`), template build
 * (`tmp/template.*.tmp`) or VM that is not a sandbox's (`run/<hex>` with an owner file) left behind when its
 * process died. Entries are recognised by their scratch name (see `os/scratch-name.ts`) or owner file, and
 * removed only when the process that made them no longer runs, so a concurrent live operation is never disturbed.
 */
import { join } from "node:path";
import type { MsbPaths } from "../config/paths.js";
import { listOwnedDirs } from "../os/owned-dir.js";
import { isRunning } from "../os/process-identity.js";
import { scratchAbandoned } from "../os/scratch-name.js";
import { readdirOrEmpty } from "../os/read-dir.js";
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

/**
 * Removes `paths`, measuring each first. One that is not ours to remove (`EACCES`/`EPERM`: another user's leftovers
 * in a shared `/dev/shm`) is left and not counted.
 */
async function removeCounted(paths: readonly string[]): Promise<ScratchCleanup> {
  const removed: string[] = [];
  let bytesFreed = 0;
  for (const path of paths) {
    try {
      const size = await allocatedBytes(path);
      await removeTree(path);
      removed.push(path);
      bytesFreed += size;
    } catch (error) {
      if (!isErrno(error, "EACCES") && !isErrno(error, "EPERM")) throw error;
    }
  }
  return { removed, bytesFreed };
}

/** Removes the abandoned scratch entries of `dir` whose names start with `prefix`. */
export async function removeAbandonedScratch(dir: string, prefix = ""): Promise<ScratchCleanup> {
  const names = await readdirOrEmpty(dir);
  return removeCounted(
    names.filter((name) => name.startsWith(prefix) && scratchAbandoned(name)).map((name) => join(dir, name)),
  );
}

/** Removes the owned directories of `parent` (`os/owned-dir.ts`) whose owner no longer runs. */
export async function removeAbandonedOwnedDirs(parent: string): Promise<ScratchCleanup> {
  const owned = await listOwnedDirs(parent);
  return removeCounted(owned.filter(({ owner }) => !isRunning(owner)).map(({ path }) => path));
}

/**
 * Cleans the state directory's scratch (`tmp/`), the run directories of VMs whose process died (`run/`, owned
 * ones only: a sandbox's is never touched), and this library's RAM staging directories.
 */
export async function cleanAbandonedScratch(
  paths: Pick<MsbPaths, "tmpDir" | "runRoot">,
): Promise<ScratchCleanup> {
  const parts = [
    await removeAbandonedScratch(paths.tmpDir),
    await removeAbandonedOwnedDirs(paths.runRoot),
    await removeAbandonedScratch(RAM_STAGING_DIR, RAM_STAGING_PREFIX),
  ];
  return {
    removed: parts.flatMap((part) => part.removed),
    bytesFreed: parts.reduce((sum, part) => sum + part.bytesFreed, 0),
  };
}
