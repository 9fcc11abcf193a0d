/** Removal of what no image needs: dangling (or all unused) images, orphan layer blobs, base disks and scratch files. */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { ImageRepository } from "../store/image-repository.js";
import { readdirOrEmpty } from "../os/read-dir.js";
import type { BlobStore } from "./blob-store.js";
import { digestHex } from "./digest.js";
import { isErrno, removeTree } from "./fs-util.js";
import { cleanAbandonedScratch } from "./scratch.js";

/** What {@link pruneImages} removed. */
export interface PruneResult {
  /** Image digests deleted. */
  readonly images: readonly string[];
  /** Layer blob digests deleted. */
  readonly layers: readonly string[];
  /** Disk space given back (allocated blocks), in bytes. */
  readonly bytesFreed: number;
}

/** Options of {@link pruneImages}. */
export interface PruneOptions {
  /** Also remove tagged images no sandbox holds (like `docker image prune -a`). Default false: dangling only. */
  readonly all?: boolean;
  /**
   * Layer blobs no image references are deleted only when older than this (default 1 hour): a pull in another
   * process may have just downloaded them and not recorded its image yet.
   */
  readonly graceMs?: number;
}

/** The parts of the cache pruning works on. */
export interface PruneTargets {
  readonly images: ImageRepository;
  readonly blobs: BlobStore;
  readonly imagesDir: string;
  readonly tmpDir: string;
  /** VM run directories: owned ones whose process died go too. */
  readonly runRoot: string;
}

/** Removes unused images and everything only they used. Leased images are never touched. */
export async function pruneImages(targets: PruneTargets, options: PruneOptions = {}): Promise<PruneResult> {
  const { images, blobs } = targets;
  const candidates =
    options.all === true
      ? images
          .list()
          .filter((i) => images.holders(i.digest).length === 0)
          .map((i) => i.digest)
      : images.dangling();
  const removedImages: string[] = [];
  const removedLayers: string[] = [];
  let bytesFreed = 0;
  for (const digest of candidates) {
    const sizes = await blobSizes(blobs, images.get(digest)?.layers.map((l) => l.digest) ?? []);
    const result = images.delete(digest, (orphans) => {
      for (const layer of orphans) blobs.removeSync(layer);
      removedLayers.push(...orphans);
      bytesFreed += orphans.reduce((sum, layer) => sum + (sizes.get(layer) ?? 0), 0);
    });
    if (!result.deleted) continue;
    removedImages.push(digest);
    bytesFreed += await removeMeasured(join(targets.imagesDir, digestHex(digest)));
  }
  bytesFreed += await removeOrphanBlobs(targets, options.graceMs ?? 3_600_000, removedLayers);
  bytesFreed += await removeOrphanDisks(targets);
  bytesFreed += (await cleanAbandonedScratch(targets)).bytesFreed;
  return { images: removedImages, layers: removedLayers, bytesFreed };
}

async function removeOrphanBlobs(targets: PruneTargets, graceMs: number, removed: string[]): Promise<number> {
  let freed = 0;
  const now = Date.now();
  for (const blob of await targets.blobs.list()) {
    if (now - blob.mtimeMs < graceMs) continue;
    const size = (await blobSizes(targets.blobs, [blob.digest])).get(blob.digest) ?? 0;
    const deleted = targets.images.whileLocked(() => {
      if (targets.images.referencedLayers().has(blob.digest)) return false;
      targets.blobs.removeSync(blob.digest);
      return true;
    });
    if (deleted) {
      removed.push(blob.digest);
      freed += size;
    }
  }
  return freed;
}

async function removeOrphanDisks(targets: PruneTargets): Promise<number> {
  let freed = 0;
  for (const name of await readdirOrEmpty(targets.imagesDir)) {
    if (!/^[0-9a-f]{64,128}$/.test(name) || images(targets).has(name)) continue;
    freed += await removeMeasured(join(targets.imagesDir, name));
  }
  return freed;
}

function images(targets: PruneTargets): Set<string> {
  return new Set(targets.images.list().map((i) => digestHex(i.digest)));
}

async function blobSizes(blobs: BlobStore, digests: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const digest of digests) sizes.set(digest, await allocated(blobs.path(digest)));
  return sizes;
}

async function removeMeasured(path: string): Promise<number> {
  const size = await allocated(path);
  await removeTree(path);
  return size;
}

/** Bytes allocated to a file, or to a directory's direct files (base disk directories are flat). */
async function allocated(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return info.blocks * 512;
    let total = 0;
    for (const name of await readdirOrEmpty(path)) total += await allocated(join(path, name));
    return total;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return 0;
    throw error;
  }
}
