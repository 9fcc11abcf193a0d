/**
 * The `volumes` sandbox option: guest path → {@link MountConfig} (the seed's shape: exactly one of `bind`, `named`,
 * `tmpfs`). Validation names the field of every error (`volumes./data.sizeMib`); a bind path is resolved against
 * the creator's working directory at create time and stored absolute, so `start` works from any directory.
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import { failConfig as fail, guestPath } from "../config/invalid.js";
import { requireHostDirectory } from "../storage/plan-mounts.js";
import type { VolumeMountSpec } from "../storage/plan-mounts.js";
import { VOLUME_NAME, MAX_TMPFS_MIB } from "../storage/volume-rules.js";

/** A volume mount, as the seed's `MountConfig`: exactly one of `bind`, `named`, `tmpfs`. */
export interface MountConfig {
  /** A host directory (relative to the creator's working directory, or absolute, or `~/...`). */
  readonly bind?: string;
  /** A named volume (`Volume.create`). */
  readonly named?: string;
  /** An in-guest tmpfs. */
  readonly tmpfs?: boolean;
  /** Read-only: enforced on the host for bind and named mounts (root in the guest gets EROFS). */
  readonly readonly?: boolean;
  /** Size bound of a tmpfs, in MiB (default: the kernel's, half the guest's memory). Only for tmpfs. */
  readonly sizeMib?: number;
}

/** Builders of {@link MountConfig} (`volumes: { "/data": Mount.named("cache") }`). */
export const Mount = {
  /** A host directory. */
  bind: (path: string, options: { readonly?: boolean } = {}): MountConfig => ({ bind: path, ...options }),
  /** A named volume. */
  named: (name: string, options: { readonly?: boolean } = {}): MountConfig => ({ named: name, ...options }),
  /** An in-guest tmpfs. */
  tmpfs: (options: { sizeMib?: number; readonly?: boolean } = {}): MountConfig => ({
    tmpfs: true,
    ...options,
  }),
} as const;

/** Guest trees that belong to the kernel and the agent: nothing is mounted on or under them. */
const RESERVED_TARGETS = ["/proc", "/sys", "/dev", "/.msb"];
/** The agent's bounds: mounts per sandbox, bytes of a guest path. */
const MAX_MOUNTS = 128;
const MOUNT_KEYS = new Set(["bind", "named", "tmpfs", "readonly", "sizeMib"]);

/** The normalised guest path of key `key` (absolute, no `.`/`..`/trailing `/`), or an error naming it. */
export function normaliseTarget(key: string, field: string): string {
  const target = guestPath(field, key);
  for (const reserved of RESERVED_TARGETS) {
    if (target === reserved || target.startsWith(`${reserved}/`))
      fail(field, `cannot be on or under ${reserved}`);
  }
  return target;
}

/** Checks one mount's shape; `field` is `volumes./data`. */
function checkMount(field: string, value: unknown): MountConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(field, "must be a mount: Mount.bind(path), Mount.named(name) or Mount.tmpfs()");
  }
  const mount = value as Record<string, unknown>;
  for (const key of Object.keys(mount)) {
    if (!MOUNT_KEYS.has(key)) fail(`${field}.${key}`, "is not a mount option");
  }
  const kinds = ["bind", "named", "tmpfs"].filter((k) => mount[k] !== undefined);
  if (kinds.length !== 1) {
    fail(
      field,
      `must have exactly one of bind, named, tmpfs (has ${kinds.length === 0 ? "none" : kinds.join(", ")})`,
    );
  }
  const bind = mount["bind"];
  if (bind !== undefined && (typeof bind !== "string" || bind === ""))
    fail(`${field}.bind`, "must be a non-empty path");
  const named = mount["named"];
  if (named !== undefined && (typeof named !== "string" || !VOLUME_NAME.test(named))) {
    fail(`${field}.named`, `${JSON.stringify(named)} is not a volume name`);
  }
  if (mount["tmpfs"] !== undefined && mount["tmpfs"] !== true) fail(`${field}.tmpfs`, "must be true");
  if (mount["readonly"] !== undefined && typeof mount["readonly"] !== "boolean") {
    fail(`${field}.readonly`, "must be a boolean");
  }
  const size = mount["sizeMib"];
  if (size !== undefined) {
    if (mount["tmpfs"] === undefined) fail(`${field}.sizeMib`, "applies to tmpfs mounts only");
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_TMPFS_MIB) {
      fail(`${field}.sizeMib`, `must be an integer from 1 to ${MAX_TMPFS_MIB}, got ${JSON.stringify(size)}`);
    }
  }
  return mount;
}

/**
 * Validates the `volumes` option (untyped input) and returns it with normalised guest paths. Throws
 * {@link InvalidConfigError} naming the field: `volumes./data`, `volumes./data.sizeMib`...
 */
export function checkVolumes(value: unknown): Record<string, MountConfig> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("volumes", 'must be an object of guest path → mount ({ "/data": Mount.named("cache") })');
  }
  if (Object.keys(value).length > MAX_MOUNTS) fail("volumes", `at most ${MAX_MOUNTS} mounts`);
  const result: Record<string, MountConfig> = {};
  const seen = new Map<string, string>();
  for (const [key, mount] of Object.entries(value)) {
    const field = `volumes.${key}`;
    const target = normaliseTarget(key, field);
    const earlier = seen.get(target);
    if (earlier !== undefined) fail(field, `is the same guest path as volumes.${earlier}`);
    seen.set(target, key);
    result[target] = checkMount(field, mount);
  }
  return result;
}

/** `path` with a leading `~` made the user's home, then made absolute against `cwd`. */
export function absoluteHostPath(path: string, cwd: string): string {
  const expanded = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  return resolve(cwd, expanded);
}

/**
 * The `volumes` as persisted: guest paths normalised and bind paths made absolute against `cwd`, each checked to
 * be an existing directory.
 */
export function resolveVolumes(
  volumes: Readonly<Record<string, MountConfig>> | undefined,
  cwd: string,
): Record<string, MountConfig> | undefined {
  const checked = checkVolumes(volumes);
  if (checked === undefined) return undefined;
  for (const [target, mount] of Object.entries(checked)) {
    if (mount.bind === undefined) continue;
    const bind = absoluteHostPath(mount.bind, cwd);
    requireHostDirectory(bind, `volumes.${target}.bind`);
    checked[target] = { ...mount, bind };
  }
  return checked;
}

/** The validated `volumes` as the mount planner takes them (bind paths must already be absolute). */
export function volumeMountSpecs(
  volumes: Readonly<Record<string, MountConfig>> | undefined,
): VolumeMountSpec[] {
  const specs: VolumeMountSpec[] = [];
  for (const [target, mount] of Object.entries(checkVolumes(volumes) ?? {})) {
    const readonly = mount.readonly === true;
    const field = `volumes.${target}`;
    if (mount.bind !== undefined)
      specs.push({ target, field, source: { kind: "bind", path: mount.bind }, readonly });
    else if (mount.named !== undefined)
      specs.push({ target, field, source: { kind: "named", name: mount.named }, readonly });
    else
      specs.push({
        target,
        field,
        source: { kind: "tmpfs", ...(mount.sizeMib === undefined ? {} : { sizeMib: mount.sizeMib }) },
        readonly,
      });
  }
  return specs;
}
