/** The rules of named volumes and mounts: names, sizes, defaults. Pure. */
import { failConfig as fail } from "../config/invalid.js";
import type { VolumeKind } from "../store/volume-repository.js";

/** A volume name: as a sandbox name, 1-63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The largest `quotaMib` (1 TiB): images are sparse, but a quota past the host's free space only delays ENOSPC. */
export const MAX_QUOTA_MIB = 1024 * 1024;

/** The size of a disk volume created without `quotaMib`: 1024 MiB (sparse: only what is written takes space). */
export const DEFAULT_DISK_MIB = 1024;

/** The least quota: ext4 needs room for its journal and tables. */
export const MIN_QUOTA_MIB = 8;

/** The largest tmpfs `sizeMib`. */
export const MAX_TMPFS_MIB = 1024 * 1024;

/** A volume to create, validated. */
export interface VolumeSpec {
  readonly name: string;
  readonly kind: VolumeKind;
  /** Always set for a disk (default {@link DEFAULT_DISK_MIB}); undefined for a directory without a quota. */
  readonly quotaMib: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** Validates `Volume.create`'s options (untyped input); errors name the field. */
export function validateVolumeSpec(input: unknown): VolumeSpec {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    fail("volume", "must be an object");
  const config = input as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!["name", "quotaMib", "labels", "kind"].includes(key)) fail(key, "is not a volume option");
  }
  const name = config["name"];
  if (typeof name !== "string" || !VOLUME_NAME.test(name)) {
    fail(
      "name",
      `${JSON.stringify(name)} must be 1-63 letters, digits, '.', '_' or '-', starting alphanumeric`,
    );
  }
  const kind = config["kind"] ?? "directory";
  if (kind !== "directory" && kind !== "disk")
    fail("kind", `${JSON.stringify(kind)} is not "directory" or "disk"`);
  const quota = config["quotaMib"];
  if (quota !== undefined) {
    if (
      typeof quota !== "number" ||
      !Number.isInteger(quota) ||
      quota < MIN_QUOTA_MIB ||
      quota > MAX_QUOTA_MIB
    ) {
      fail(
        "quotaMib",
        `must be an integer from ${MIN_QUOTA_MIB} to ${MAX_QUOTA_MIB}, got ${JSON.stringify(quota)}`,
      );
    }
  }
  const labels: unknown = config["labels"] ?? {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    fail("labels", "must be an object");
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== "string") fail(`labels.${k}`, "must be a string");
  }
  const quotaMib = kind === "disk" ? (quota ?? DEFAULT_DISK_MIB) : quota;
  return { name, kind, quotaMib, labels: labels as Record<string, string> };
}
