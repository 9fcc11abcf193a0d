/**
 * From a sandbox's `volumes` to its {@link MountPlan}: named volumes looked up (a quota directory mounted again if
 * a reboot undid it), a disk volume's writers checked, bind sources checked to exist. Tags and serials are
 * deterministic: `vol<i>` by the mount's position, mounts ordered so that a parent path comes before paths under it.
 */
import { InvalidConfigError, VolumeInUseError } from "../errors.js";
import type { ExtraDisk, GuestMount, HostShare, MountPlan } from "./mount-plan.js";
import { openVolume } from "./volume-host.js";
import type { VolumeHostContext } from "./volume-host.js";
import { diskConflicts } from "./volume-references.js";
import { volumePaths } from "./volume-paths.js";
import { statSync } from "node:fs";

/** One validated mount of the `volumes` option. */
export interface VolumeMountSpec {
  /** Normalised absolute guest path. */
  readonly target: string;
  /** The config field errors name (`volumes./data`). */
  readonly field: string;
  readonly source:
    | { readonly kind: "bind"; readonly path: string }
    | { readonly kind: "named"; readonly name: string }
    | { readonly kind: "tmpfs"; readonly sizeMib?: number };
  readonly readonly: boolean;
}

/** `specs` in mount order: fewer path components first, then by path (a parent before what is under it). */
export function mountOrder(specs: readonly VolumeMountSpec[]): VolumeMountSpec[] {
  const depth = (target: string): number => target.split("/").length;
  return [...specs].sort(
    (a, b) => depth(a.target) - depth(b.target) || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0),
  );
}

/** Throws {@link InvalidConfigError} naming `field` unless `path` is an existing host directory. */
export function requireHostDirectory(path: string, field: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
  }
  if (!ok)
    throw new InvalidConfigError(field, `${path} is not an existing directory`, {
      hint: "a bind mount shares an existing host directory",
    });
}

/**
 * The plan of sandbox incarnation `selfId`'s mounts. Throws `VolumeNotFoundError` for a missing volume,
 * `VolumeInUseError` for a disk another live sandbox writes (or reads, when this one would write; the check reads
 * the sandbox rows, each already inserted or claimed before its plan is made, so of two sandboxes booting at once
 * with the same disk at most one gets it: both may be refused, never both let in), and
 * `InvalidConfigError` for a bind source that is no longer a directory.
 */
export async function planMounts(
  ctx: VolumeHostContext,
  specs: readonly VolumeMountSpec[],
  selfId: string,
): Promise<MountPlan> {
  const mounts: GuestMount[] = [];
  const shares: HostShare[] = [];
  const disks: ExtraDisk[] = [];
  const diskNames = new Set<string>();
  for (const [index, spec] of mountOrder(specs).entries()) {
    const id = `vol${index}`;
    const { target, readonly, source } = spec;
    if (source.kind === "tmpfs") {
      mounts.push({
        kind: "tmpfs",
        target,
        readonly,
        ...(source.sizeMib === undefined ? {} : { sizeMib: source.sizeMib }),
      });
      continue;
    }
    if (source.kind === "bind") {
      requireHostDirectory(source.path, `${spec.field}.bind`);
      shares.push({ tag: id, hostPath: source.path, readonly });
      mounts.push({ kind: "virtiofs", target, tag: id, readonly });
      continue;
    }
    const volume = await openVolume(ctx, source.name);
    const paths = volumePaths(ctx.home, volume.name, volume.kind);
    if (volume.kind === "directory") {
      shares.push({ tag: id, hostPath: paths.dir, readonly });
      mounts.push({ kind: "virtiofs", target, tag: id, readonly });
      continue;
    }
    if (diskNames.has(volume.name)) {
      throw new InvalidConfigError(spec.field, `mounts disk volume ${volume.name} a second time`, {
        hint: "a disk volume is one block device: mount it once",
      });
    }
    diskNames.add(volume.name);
    const holders = diskConflicts(ctx.store, volume.name, selfId, readonly);
    if (holders.length > 0) {
      const reason = readonly ? "is being written by" : "is a disk volume (one writer at a time) in use by";
      throw new VolumeInUseError(volume.name, holders, reason, {
        hint: "stop that sandbox first, or mount the volume read-only in every sandbox",
      });
    }
    disks.push({ path: paths.image, serial: id, readonly });
    mounts.push({ kind: "disk", target, serial: id, readonly });
  }
  return { mounts, shares, disks };
}
