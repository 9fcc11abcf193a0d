/**
 * Builds the read-only ext4 base disk of an image, once per image digest, atomically: everything happens in a
 * scratch directory under `tmpDir`, and the finished file is renamed into `imagesDir/<hex>/rootfs.ext4`. A lock file
 * serializes builders of the same digest across processes; a crash leaves only scratch files, never a base disk.
 */
import { mkdir, open, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { MsbError, RootfsBuildError } from "../../errors.js";
import { digestHex } from "../digest.js";
import { isErrno, removeTree, tempPath } from "../fs-util.js";
import { acquireFileLock } from "../lock.js";
import type { ImageTools } from "../tool.js";
import { LayerApplier } from "./apply-layer.js";
import { readLayer } from "./layer-reader.js";
import { chooseStaging } from "./staging.js";
import { applyMetadataScript, checkExt4, makeExt4, planExt4, writeMetadataScript } from "./mkfs.js";

/** One layer of the image, in order, with its cached blob. */
export interface BuildLayer {
  readonly path: string;
  readonly digest: string;
  readonly diffId: string;
  /** Compressed size (to decide where to unpack). */
  readonly size: number;
}

/** Options of {@link ensureBaseDisk}. */
export interface EnsureBaseDiskOptions {
  /** The image (manifest) digest: the key of the base disk. */
  readonly imageDigest: string;
  readonly layers: readonly BuildLayer[];
  /** Where base disks live (`msbPaths(home).imagesDir`). */
  readonly imagesDir: string;
  /** Scratch space on the same filesystem (`msbPaths(home).tmpDir`). */
  readonly tmpDir: string;
  readonly tools: ImageTools;
  /** Free space for the sandbox's writes (default 1 GiB; the file is sparse). */
  readonly headroomBytes?: number;
  /** Run `e2fsck -fn` on the result before publishing it (default false: tests turn it on). */
  readonly verify?: boolean;
  /** How long to wait for another process building the same disk (default 30 minutes). */
  readonly lockTimeoutMs?: number;
  /** Unpack in /dev/shm when the image fits comfortably in RAM (default true; much faster on slow disks). */
  readonly ramStaging?: boolean;
}

/** A base disk, ready to back qcow2 overlays. */
export interface BaseDisk {
  readonly path: string;
  readonly format: "raw";
  readonly sizeBytes: number;
  /** False when it was already built. */
  readonly built: boolean;
}

/** The path of the base disk of `imageDigest` (whether or not it exists). */
export function baseDiskPath(imagesDir: string, imageDigest: string): string {
  return join(imagesDir, digestHex(imageDigest), "rootfs.ext4");
}

/** Returns the base disk of the image, building it first if needed. */
export async function ensureBaseDisk(options: EnsureBaseDiskOptions): Promise<BaseDisk> {
  const target = baseDiskPath(options.imagesDir, options.imageDigest);
  const existing = await sizeOf(target);
  if (existing !== undefined) return { path: target, format: "raw", sizeBytes: existing, built: false };
  await mkdir(options.imagesDir, { recursive: true });
  await mkdir(options.tmpDir, { recursive: true });
  const lock = await acquireFileLock({
    path: join(options.imagesDir, `${digestHex(options.imageDigest)}.lock`),
    timeoutMs: options.lockTimeoutMs ?? 30 * 60_000,
  });
  try {
    return await buildLocked(target, options);
  } finally {
    await lock.release();
  }
}

async function buildLocked(target: string, options: EnsureBaseDiskOptions): Promise<BaseDisk> {
  const raced = await sizeOf(target);
  if (raced !== undefined) return { path: target, format: "raw", sizeBytes: raced, built: false };
  const work = tempPath(options.tmpDir, `rootfs-${digestHex(options.imageDigest).slice(0, 12)}`);
  try {
    const sizeBytes = await buildInto(work, options);
    await mkdir(join(options.imagesDir, digestHex(options.imageDigest)), { recursive: true });
    await rename(join(work, "rootfs.ext4"), target);
    return { path: target, format: "raw", sizeBytes, built: true };
  } catch (error) {
    if (error instanceof MsbError) throw error;
    throw new RootfsBuildError(
      `building the root disk of ${options.imageDigest} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await removeTree(work);
  }
}

async function buildInto(work: string, options: EnsureBaseDiskOptions): Promise<number> {
  await mkdir(work, { recursive: true, mode: 0o700 });
  const staging = await chooseStaging({
    workDir: work,
    layerBytes: options.layers.reduce((sum, l) => sum + l.size, 0),
    ram: options.ramStaging ?? true,
    label: digestHex(options.imageDigest).slice(0, 12),
  });
  try {
    return await buildWithStaging(work, staging, options);
  } finally {
    await removeTree(staging);
  }
}

async function buildWithStaging(
  work: string,
  staging: string,
  options: EnsureBaseDiskOptions,
): Promise<number> {
  await mkdir(staging, { mode: 0o700 });
  const applier = new LayerApplier({ staging });
  for (const layer of options.layers) {
    applier.beginLayer();
    try {
      await readLayer({
        path: layer.path,
        digest: layer.digest,
        diffId: layer.diffId,
        onEntry: (header) => applier.entry(header),
      });
    } catch (error) {
      if (error instanceof MsbError) throw error;
      throw new RootfsBuildError(`layer ${layer.digest} cannot be applied: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  applier.finish();
  const script = await writeMetadataScript({ tree: applier.tree, staging, workDir: work });
  const image = join(work, "rootfs.ext4");
  const layout = planExt4(
    applier.tree,
    options.headroomBytes === undefined ? {} : { headroomBytes: options.headroomBytes },
  );
  await makeExt4({ image, staging, layout, label: "msb-rootfs", tools: options.tools });
  await applyMetadataScript({ image, script, tools: options.tools });
  if (options.verify === true) await checkExt4({ image, tools: options.tools });
  const handle = await open(image, "r+");
  try {
    await handle.chmod(0o444);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return layout.sizeBytes;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
}
