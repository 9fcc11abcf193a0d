/**
 * Where layers are unpacked before mke2fs copies them: in RAM (/dev/shm) when the image comfortably fits there,
 * because creating thousands of small files is many times faster on tmpfs than on a journaling disk; otherwise in
 * the build's scratch directory. Either way the directory name carries our pid, so `prune` can remove what a
 * crashed build left.
 */
import { statfs } from "node:fs/promises";
import { freemem } from "node:os";
import { join } from "node:path";
import { isErrno, tempPath } from "../fs-util.js";

/** The tmpfs directory used for RAM staging. */
export const RAM_STAGING_DIR = "/dev/shm";
/** Prefix of staging directories in {@link RAM_STAGING_DIR}. */
export const RAM_STAGING_PREFIX = "msb-staging-";

/** Compressed layers rarely expand more than this. */
const EXPANSION = 4;

/** Options of {@link chooseStaging}. */
export interface ChooseStagingOptions {
  /** The build's scratch directory (the fallback location). */
  readonly workDir: string;
  /** Sum of the compressed layer sizes. */
  readonly layerBytes: number;
  /** Allow RAM staging (default true). */
  readonly ram: boolean;
  /** A short name for the directory (the digest's first characters). */
  readonly label: string;
}

/** Picks the staging directory (not created yet). */
export async function chooseStaging(options: ChooseStagingOptions): Promise<string> {
  const fallback = join(options.workDir, "staging");
  if (!options.ram) return fallback;
  const needed = options.layerBytes * EXPANSION;
  try {
    const fs = await statfs(RAM_STAGING_DIR);
    const free = fs.bavail * fs.bsize;
    if (needed * 2 < free && needed * 2 < freemem())
      return tempPath(RAM_STAGING_DIR, `${RAM_STAGING_PREFIX}${options.label}`);
  } catch (error) {
    if (!isErrno(error, "ENOENT") && !isErrno(error, "EACCES")) throw error;
  }
  return fallback;
}
