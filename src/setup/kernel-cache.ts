/**
 * The cache of built guest kernels: `<MSB_HOME>/kernel-builds/<key>/` holds `vmlinux`, its `config`,
 * `build.json` and the build log, where the key hashes everything the build depends on (the source package's
 * SHA-256, the patches, the fragment, the recipe, the architecture). A second set-up with the same inputs copies
 * the cached kernel instead of building. Entries appear by an atomic directory rename, so a crash never leaves a
 * partial entry; a failed build leaves `<key>.failed` (its reason) so later set-ups fall back at once instead of
 * spending the build time again, until `--force`.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";
import { readEnv } from "../config/env.js";
import type { GuestArch } from "./arch.js";
import { parseKconfig } from "./kernel-config.js";
import type { RuntimeLocationOptions } from "./types.js";

/** Directory name of the build cache under `MSB_HOME`. */
export const KERNEL_BUILDS_DIR = "kernel-builds";

/** The build cache directory for `options.home` (default `MSB_HOME`). */
export function kernelBuildsDirOf(options: RuntimeLocationOptions): string {
  return join(msbPaths(options.home ?? readEnv().home).home, KERNEL_BUILDS_DIR);
}

/** Everything a built kernel depends on. */
export interface KernelBuildInputs {
  /** SHA-256 of the kernel source package's .deb. */
  readonly sourceSha256: string;
  /** Text of the Kconfig fragment. */
  readonly fragment: string;
  /** The source patches, by name and text, in the order they are applied. */
  readonly patches: readonly { readonly name: string; readonly text: string }[];
  /** The build recipe (`KERNEL_BUILD_RECIPE`). */
  readonly recipe: string;
  readonly arch: GuestArch;
}

/**
 * The cache key of `inputs`: 32 hex digits of a SHA-256 over all of them. The fragment counts by its options
 * (sorted `NAME=value` lines), so editing its comments or order does not cost a rebuild.
 */
export function kernelBuildKey(inputs: KernelBuildInputs): string {
  const options = [...parseKconfig(inputs.fragment)].map(([name, value]) => `${name}=${value}`).sort();
  const patches = inputs.patches.map(
    (p) => `${Buffer.byteLength(p.name)}:${p.name}${Buffer.byteLength(p.text)}:${p.text}`,
  );
  const hash = createHash("sha256");
  for (const part of [
    inputs.arch,
    inputs.sourceSha256,
    inputs.recipe,
    options.join("\n"),
    patches.join(""),
  ]) {
    hash.update(`${Buffer.byteLength(part)}:`).update(part);
  }
  return hash.digest("hex").slice(0, 32);
}

/** What `build.json` of a cache entry records. */
export interface CachedKernelInfo {
  readonly key: string;
  readonly release: string;
  readonly sourcePackage: string;
  readonly sourceVersion: string;
  readonly buildSeconds: number;
  readonly size: number;
}

function isInfo(value: unknown): value is CachedKernelInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ["key", "release", "sourcePackage", "sourceVersion"].every((k) => typeof v[k] === "string") &&
    typeof v["buildSeconds"] === "number" &&
    typeof v["size"] === "number"
  );
}

/** A usable cache entry. */
export interface CachedKernel {
  readonly dir: string;
  readonly vmlinux: string;
  readonly info: CachedKernelInfo;
}

/** The entry for `key`, when it is complete (its vmlinux has the size `build.json` records). */
export async function lookupKernel(cacheDir: string, key: string): Promise<CachedKernel | undefined> {
  const dir = join(cacheDir, key);
  const vmlinux = join(dir, "vmlinux");
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, "build.json"), "utf8"));
    if (!isInfo(parsed) || parsed.key !== key || (await stat(vmlinux)).size !== parsed.size) return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || err instanceof SyntaxError) return undefined;
    throw err;
  }
  return { dir, vmlinux, info: parsed };
}

/**
 * A scratch directory inside the cache (same filesystem, so {@link commitKernel} is a rename). The caller removes
 * it when done, whatever happened.
 */
export async function newScratchDir(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  return mkdtemp(join(cacheDir, ".build-"));
}

/**
 * Publishes `entryDir` (holding `vmlinux`, `config` and the log) as the entry for `info.key` by writing its
 * `build.json` and renaming it into place. When another process published the same key first, its entry is
 * kept and `entryDir` is removed.
 */
export async function commitKernel(
  cacheDir: string,
  entryDir: string,
  info: CachedKernelInfo,
): Promise<CachedKernel> {
  await writeFile(join(entryDir, "build.json"), `${JSON.stringify(info, null, 2)}\n`);
  const dir = join(cacheDir, info.key);
  await rm(join(cacheDir, `${info.key}.failed`), { force: true });
  try {
    await rename(entryDir, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    await rm(entryDir, { recursive: true, force: true });
  }
  return { dir, vmlinux: join(dir, "vmlinux"), info };
}

/** Records that building `key` failed, with the reason (shown by later set-ups). */
export async function recordBuildFailure(cacheDir: string, key: string, reason: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  await writeFile(join(cacheDir, `${key}.failed`), `${new Date().toISOString()} ${reason}\n`);
}

/** The recorded failure of building `key`, if any. */
export async function previousBuildFailure(cacheDir: string, key: string): Promise<string | undefined> {
  const path = join(cacheDir, `${key}.failed`);
  if (!existsSync(path)) return undefined;
  return (await readFile(path, "utf8")).trim().slice(0, 2000);
}

/** Forgets a recorded failure (for `--force`). */
export async function clearBuildFailure(cacheDir: string, key: string): Promise<void> {
  await rm(join(cacheDir, `${key}.failed`), { force: true });
}
