/**
 * Named volumes on the host: making, finding, measuring and removing their files under `<MSB_HOME>/volumes/`.
 *
 * - A **directory** volume is a host directory shared over virtio-fs with any number of sandboxes at once. With a
 *   quota it is a sparse ext4 image loop-mounted on that directory (see `host-mount.ts` for why); the mount is made
 *   again (after a host reboot) whenever a sandbox needs it, or `Volume.get` in a process that may mount.
 * - A **disk** volume is a sparse raw ext4 image attached as virtio-blk: one writer at a time.
 *
 * Creation is atomic: the name is claimed in the database first (one of two concurrent creators wins), the files
 * are made, and the row becomes visible only then; any failure removes the files and the claim.
 */
import { mkdir, rm } from "node:fs/promises";
import { msbPaths } from "../config/paths.js";
import { InvalidStateError, VolumeInUseError, VolumeNotFoundError } from "../errors.js";
import { acquireFileLock } from "../image/lock.js";
import { hasSysAdmin } from "../os/capabilities.js";
import { identityOf } from "../os/process-identity.js";
import type { Store } from "../store/store.js";
import type { VolumeKind, VolumeRecord } from "../store/volume-repository.js";
import { directoryUsedBytes, mountedUsedBytes } from "./dir-usage.js";
import { makeExt4Image, readExt4Usage } from "./ext4-image.js";
import { isMountPoint, mountLoop, requireMountPrivilege, unmountIfMounted } from "./host-mount.js";
import { volumeReferences } from "./volume-references.js";
import { volumePaths } from "./volume-paths.js";

/** What {@link createVolume} makes (already validated). */
export interface NewVolume {
  readonly name: string;
  readonly kind: VolumeKind;
  /** MiB; required for a disk (the caller applies the default). */
  readonly quotaMib: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** Where the host-side helpers work: the state directory and the PATH to find e2fsprogs in. */
export interface VolumeHostContext {
  readonly store: Store;
  readonly home: string;
  readonly searchPath: readonly string[];
}

/** Creates a volume's files and row, atomically. Throws `VolumeAlreadyExistsError` when the name is taken. */
export async function createVolume(ctx: VolumeHostContext, volume: NewVolume): Promise<VolumeRecord> {
  if (volume.kind === "directory" && volume.quotaMib !== undefined) {
    requireMountPrivilege(`cannot create the quota volume ${volume.name}`); // before anything is made
  }
  // While the claim is not ready nothing else uses these paths (readers and mounters see no volume): no lock.
  const { abandoned } = ctx.store.volumes.claim({ ...volume, creator: identityOf(process.pid) });
  const paths = volumePaths(ctx.home, volume.name, volume.kind);
  try {
    if (abandoned !== undefined) await removeFiles(ctx.home, abandoned);
    await removeFiles(ctx.home, { name: volume.name, kind: volume.kind }); // leftovers of a crash without a row
    await mkdir(msbPaths(ctx.home).volumesDir, { recursive: true, mode: 0o755 });
    await mkdir(paths.dir, { mode: 0o755 });
    let baseline: number | undefined;
    if (volume.kind === "disk") {
      await makeExt4Image(paths.image, requireQuota(volume), volume.name, ctx.searchPath);
      baseline = (await readExt4Usage(paths.image)).allocatedBytes;
    } else if (volume.quotaMib !== undefined) {
      await makeExt4Image(paths.image, volume.quotaMib, volume.name, ctx.searchPath);
      baseline = (await readExt4Usage(paths.image)).allocatedBytes; // for measuring it while unmounted
      await mountLoop(paths.image, paths.dir);
    }
    ctx.store.volumes.markReady(volume.name, baseline);
  } catch (err) {
    await removeFiles(ctx.home, { name: volume.name, kind: volume.kind });
    ctx.store.volumes.delete(volume.name);
    throw err;
  }
  const record = ctx.store.volumes.get(volume.name);
  if (record === undefined) throw new VolumeNotFoundError(volume.name, { hint: "it was removed meanwhile" });
  return record;
}

function requireQuota(volume: NewVolume): number {
  if (volume.quotaMib === undefined) throw new TypeError("a disk volume needs its size");
  return volume.quotaMib;
}

/**
 * The volume `name`, or {@link VolumeNotFoundError}. A quota directory is mounted again if it is not and this
 * process may mount (its host path then shows the contents); without that privilege it stays as it is.
 */
export async function openVolume(ctx: VolumeHostContext, name: string): Promise<VolumeRecord> {
  const record = ctx.store.volumes.get(name);
  if (record === undefined) throw new VolumeNotFoundError(name);
  if (hasSysAdmin()) await ensureMounted(ctx, record);
  return record;
}

/**
 * Mounts a quota directory's image on its directory when it is not mounted (after a host reboot), under the
 * volume's lock file, so that two processes never mount it twice and no mount is made while a removal unmounts
 * it (the row is read again under the lock). Nothing to do for other volumes.
 */
export async function ensureMounted(ctx: VolumeHostContext, record: VolumeRecord): Promise<void> {
  if (record.kind !== "directory" || record.quotaMib === undefined) return;
  const paths = volumePaths(ctx.home, record.name, record.kind);
  if (isMountPoint(paths.dir)) return;
  await withVolumeLock(paths.lock, async () => {
    if (ctx.store.volumes.get(record.name) === undefined) throw new VolumeNotFoundError(record.name);
    if (!isMountPoint(paths.dir)) await mountLoop(paths.image, paths.dir);
  });
}

/** Runs `fn` holding a volume's lock file (its directory, `volumes/`, must exist). */
async function withVolumeLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFileLock({ path, timeoutMs: 60_000 });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * Bytes used by the volume's contents, measured without mounting anything: `statvfs` of a mounted quota
 * directory; a walk (`st_blocks`) of a plain directory; for a disk, or a quota directory's image while it is not
 * mounted, the superblock's allocated blocks less those of the empty filesystem (exact when nothing has the image
 * mounted, as of the last write-back while a guest does).
 */
export async function volumeUsedBytes(ctx: VolumeHostContext, record: VolumeRecord): Promise<number> {
  const paths = volumePaths(ctx.home, record.name, record.kind);
  if (record.kind === "directory" && record.quotaMib === undefined) return directoryUsedBytes(paths.dir);
  if (record.kind === "directory" && isMountPoint(paths.dir)) return mountedUsedBytes(paths.dir);
  const usage = await readExt4Usage(paths.image);
  return Math.max(0, usage.allocatedBytes - record.baselineBytes);
}

/**
 * Removes volume `name`: refused with {@link VolumeInUseError} while any sandbox (running or stopped) references
 * it. The row is taken back first (in the same transaction as the check), so nothing starts using it while its
 * files go; if removing the files fails the volume is restored.
 */
export async function removeVolume(ctx: VolumeHostContext, name: string): Promise<void> {
  const me = identityOf(process.pid);
  const record = ctx.store.volumes.exclusive(() => {
    const found = ctx.store.volumes.get(name);
    if (found === undefined) throw new VolumeNotFoundError(name);
    const holders = volumeReferences(ctx.store, name).map((ref) => ref.sandbox);
    if (holders.length > 0) throw new VolumeInUseError(name, holders, "is used by sandboxes");
    ctx.store.volumes.retire(name, me);
    return found;
  });
  try {
    // Under the lock: a process that read the row before it was retired may be mounting it right now.
    await withVolumeLock(volumePaths(ctx.home, record.name, record.kind).lock, () =>
      removeFiles(ctx.home, record),
    );
  } catch (err) {
    ctx.store.volumes.markReady(name);
    throw err;
  }
  ctx.store.volumes.delete(name);
}

/**
 * Unmounts (a quota directory) and deletes a volume's files; absent files are fine. Nothing is deleted through a
 * mount: the directory must no longer be a mount point first.
 */
async function removeFiles(home: string, record: Pick<VolumeRecord, "name" | "kind">): Promise<void> {
  const paths = volumePaths(home, record.name, record.kind);
  if (record.kind === "directory") await unmountIfMounted(paths.dir);
  if (isMountPoint(paths.dir)) {
    throw new InvalidStateError(`${paths.dir} is still a mount point: nothing was removed`, {
      hint: "unmount it (umount) and remove the volume again",
    });
  }
  await rm(paths.dir, { recursive: true, force: true });
  await rm(paths.image, { force: true });
}
