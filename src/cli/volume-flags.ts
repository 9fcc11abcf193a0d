/**
 * docker's mount flags on `msb run` / `msb create`: `-v SOURCE:/guest[:ro|rw]` (a source starting with `/`, `./`,
 * `../` or `~`, or `.`/`..`, is a host directory to bind; anything else names a volume) and
 * `--tmpfs /guest[:size=64m,ro]`. They become the `volumes` option, which the SDK validates like any other.
 */
import { InvalidConfigError, VolumeAlreadyExistsError, VolumeNotFoundError } from "../errors.js";
import type { MountConfig } from "../sdk/mount-config.js";
import { Volume } from "../sdk/volume.js";

const MIB = 1024 * 1024;
const UNITS: Readonly<Record<string, number>> = { "": 1, b: 1, k: 1024, m: MIB, g: 1024 * MIB };

/** True when a `-v` source is a host path rather than a volume name. */
export function isHostPath(source: string): boolean {
  return (
    source === "." ||
    source === ".." ||
    source.startsWith("/") ||
    source.startsWith("./") ||
    source.startsWith("../") ||
    source.startsWith("~")
  );
}

function readonlyOption(option: string | undefined, field: string, spec: string): boolean {
  if (option === undefined || option === "rw") return false;
  if (option === "ro") return true;
  throw new InvalidConfigError(field, `unknown option ${JSON.stringify(option)} in ${JSON.stringify(spec)}`, {
    hint: "use ro or rw",
  });
}

/** One `-v` value as a guest path and its mount. */
export function parseVolumeFlag(spec: string): [string, MountConfig] {
  const parts = spec.split(":");
  const [source, target, option] = parts;
  if (parts.length < 2 || parts.length > 3 || source === undefined || source === "" || target === undefined) {
    throw new InvalidConfigError(
      "--volume",
      `expected SOURCE:/GUEST/PATH[:ro], got ${JSON.stringify(spec)}`,
      {
        hint: "e.g. -v cache:/data, -v ./src:/src:ro",
      },
    );
  }
  const readonly = readonlyOption(option, "--volume", spec);
  const mount: MountConfig = isHostPath(source) ? { bind: source } : { named: source };
  return [target, readonly ? { ...mount, readonly } : mount];
}

/** A docker size (`64m`, `1g`, `65536`: bytes without a unit) in whole MiB, rounded up. */
export function parseSizeMib(value: string, field: string): number {
  const match = /^(\d{1,15})([bkmg]?)$/i.exec(value.trim());
  const unit = match === null ? undefined : UNITS[(match[2] ?? "").toLowerCase()];
  if (match === null || unit === undefined || Number(match[1]) === 0) {
    throw new InvalidConfigError(field, `${JSON.stringify(value)} is not a size`, { hint: "e.g. size=64m" });
  }
  return Math.ceil((Number(match[1]) * unit) / MIB);
}

/** One `--tmpfs` value as a guest path and its mount. */
export function parseTmpfsFlag(spec: string): [string, MountConfig] {
  const colon = spec.indexOf(":");
  const target = colon < 0 ? spec : spec.slice(0, colon);
  const options = colon < 0 ? [] : spec.slice(colon + 1).split(",");
  let mount: MountConfig = { tmpfs: true };
  for (const option of options) {
    if (option.startsWith("size=")) mount = { ...mount, sizeMib: parseSizeMib(option.slice(5), "--tmpfs") };
    else if (readonlyOption(option, "--tmpfs", spec)) mount = { ...mount, readonly: true };
  }
  return [target, mount];
}

/** The `volumes` option of repeated `-v` and `--tmpfs` values; a guest path given twice is an error. */
export function volumesFromFlags(
  volumes: readonly string[],
  tmpfs: readonly string[],
): Record<string, MountConfig> | undefined {
  const entries = [...volumes.map(parseVolumeFlag), ...tmpfs.map(parseTmpfsFlag)];
  if (entries.length === 0) return undefined;
  const result: Record<string, MountConfig> = {};
  for (const [target, mount] of entries) {
    if (Object.hasOwn(result, target)) {
      throw new InvalidConfigError(
        `volumes.${target}`,
        "is mounted twice (-v and --tmpfs must name distinct paths)",
      );
    }
    result[target] = mount;
  }
  return result;
}

/**
 * As docker's `-v NAME:/path`: a named volume that does not exist yet is created (a directory volume without a
 * quota) and kept, whatever happens to the sandbox. Returns the names created.
 */
export async function createMissingVolumes(
  volumes: Readonly<Record<string, MountConfig>> | undefined,
): Promise<string[]> {
  const created: string[] = [];
  for (const mount of Object.values(volumes ?? {})) {
    if (mount.named === undefined) continue;
    try {
      await Volume.get(mount.named);
    } catch (err) {
      if (!(err instanceof VolumeNotFoundError)) throw err;
      try {
        await Volume.create({ name: mount.named });
        created.push(mount.named);
      } catch (createErr) {
        if (!(createErr instanceof VolumeAlreadyExistsError)) throw createErr; // another process made it: fine
      }
    }
  }
  return created;
}
