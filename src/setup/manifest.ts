/**
 * `kernel/manifest.json`: written last by install(), it records what was built from which inputs. Its presence
 * (with every file it names) is what makes the runtime "installed"; its inputs decide what install() rebuilds.
 */
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GuestArch } from "./arch.js";
import { atomicWriteFile } from "./fs-util.js";
import type { InitrdCompression } from "./initramfs.js";
import type { KernelFlavor, KernelFormat } from "./types.js";

/** Version of the manifest layout; a different number means "not installed" (rebuild everything). */
export const MANIFEST_SCHEMA = 1;
/** File name of the manifest inside the kernel directory. */
export const MANIFEST_FILE = "manifest.json";

/** The kernel part of the manifest. */
export interface KernelRecord {
  /** File name in the kernel directory. */
  readonly file: string;
  readonly format: KernelFormat;
  /** Kernel release (`6.1.0-56-cloud-amd64`). */
  readonly version: string;
  /** Concrete Debian package (`linux-image-6.1.0-56-cloud-amd64`) and its version (`6.1.192-2`). */
  readonly package: string;
  readonly packageVersion: string;
  /** Fingerprint of apt's lists when the package was resolved (see `aptListsStamp`). */
  readonly aptListsStamp: string;
  readonly size: number;
  /**
   * Which kernel this is: `microvm` (built by set-up from the source package, all drivers built in) or `debian`
   * (the cloud kernel and its modules). Absent in manifests written before there was a choice: `debian`.
   */
  readonly flavor?: KernelFlavor;
  /** `microvm` only: SHA-256 of the source package's .deb and the build cache key. */
  readonly sourceSha256?: string;
  readonly buildKey?: string;
}

/** The flavor of an installed kernel (`debian` for records that predate the field). */
export function kernelFlavorOf(kernel: KernelRecord): KernelFlavor {
  return kernel.flavor ?? "debian";
}

/** The modules part: what was asked for and the files (in the kernel directory's `modules/`) in load order. */
export interface ModulesRecord {
  readonly requested: readonly string[];
  /** Loaded at every boot (`/modules/order`). */
  readonly files: readonly string[];
  /** Loaded only for a virtio-fs mount (`/modules/virtiofs.order`), in load order. */
  readonly virtiofs: readonly string[];
}

/** The initramfs part. */
export interface InitrdRecord {
  readonly file: string;
  readonly compression: InitrdCompression;
  readonly size: number;
}

/** The agent part: the binary and the inputs it was built from. */
export interface AgentRecord {
  readonly file: string;
  readonly sourceHash: string;
  readonly goVersion: string;
  readonly size: number;
}

/** Everything install() records. */
export interface Manifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  readonly arch: GuestArch;
  readonly installedAt: string;
  readonly kernel: KernelRecord;
  readonly modules: ModulesRecord;
  readonly initrd: InitrdRecord;
  readonly agent: AgentRecord;
  /** QEMU found at install time (informative: the binary is looked up again at run time). */
  readonly qemu: { readonly binary: string; readonly version: string };
}

interface Shape {
  readonly [key: string]: "string" | "number" | "string[]" | Shape;
}

const SHAPE: Shape = {
  arch: "string",
  installedAt: "string",
  kernel: {
    file: "string",
    format: "string",
    version: "string",
    package: "string",
    packageVersion: "string",
    aptListsStamp: "string",
    size: "number",
  },
  modules: { requested: "string[]", files: "string[]", virtiofs: "string[]" },
  initrd: { file: "string", compression: "string", size: "number" },
  agent: { file: "string", sourceHash: "string", goVersion: "string", size: "number" },
  qemu: { binary: "string", version: "string" },
};

function matches(value: unknown, shape: Shape): boolean {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return Object.entries(shape).every(([key, kind]) => {
    const field = record[key];
    if (kind === "string[]") return Array.isArray(field) && field.every((v) => typeof v === "string");
    if (typeof kind === "string") return typeof field === kind;
    return matches(field, kind);
  });
}

/** True when `value` is a manifest of the current {@link MANIFEST_SCHEMA} with every field of the right type. */
export function isManifest(value: unknown): value is Manifest {
  if (!matches(value, SHAPE) || (value as { schema?: unknown }).schema !== MANIFEST_SCHEMA) return false;
  const m = value as Manifest;
  return (
    ["x86_64", "aarch64"].includes(m.arch) &&
    ["pvh-vmlinux", "bzimage", "image"].includes(m.kernel.format) &&
    ["none", "gzip"].includes(m.initrd.compression) &&
    [undefined, "microvm", "debian"].includes(m.kernel.flavor) &&
    [m.kernel.sourceSha256, m.kernel.buildKey].every((v) => v === undefined || typeof v === "string")
  );
}

/** Outcome of reading the manifest: the manifest, or why there is none. */
export type ManifestRead = { readonly manifest: Manifest } | { readonly problem: string };

function parse(text: string | undefined, path: string): ManifestRead {
  if (text === undefined) return { problem: `${path} does not exist` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problem: `${path} is not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  return isManifest(value)
    ? { manifest: value }
    : { problem: `${path} is from another version or incomplete` };
}

function absentAsUndefined(err: unknown): string | undefined {
  if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw err;
}

/** Reads and validates the manifest of `kernelDir` (synchronously: used by `isInstalled()`). */
export function readManifestSync(kernelDir: string): ManifestRead {
  const path = join(kernelDir, MANIFEST_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    text = absentAsUndefined(err);
  }
  return parse(text, path);
}

/** Reads and validates the manifest of `kernelDir`. */
export async function readManifest(kernelDir: string): Promise<ManifestRead> {
  const path = join(kernelDir, MANIFEST_FILE);
  return parse(await readFile(path, "utf8").catch(absentAsUndefined), path);
}

/** Writes the manifest of `kernelDir` atomically (temporary file + rename). */
export async function writeManifest(kernelDir: string, manifest: Manifest): Promise<void> {
  await atomicWriteFile(join(kernelDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
