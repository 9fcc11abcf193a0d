/** What every install() step receives, and helpers for their progress lines. */
import type { Apt } from "./apt.js";
import type { ArchProfile } from "./arch.js";
import type { KernelFlavor, SetupLog } from "./types.js";

/** State of one install() run. Steps stage new files in `workDir`; the commit moves them into `kernelDir`. */
export interface InstallContext {
  readonly kernelDir: string;
  /** Scratch directory under `kernelDir` (same filesystem: renames out of it are atomic); removed at the end. */
  readonly workDir: string;
  readonly profile: ArchProfile;
  readonly apt: Apt | undefined;
  readonly log: SetupLog;
  /** Rebuild even what is up to date. */
  readonly force: boolean;
  /** The guest kernel asked for. */
  readonly kernelFlavor: KernelFlavor;
  /** Cache of built kernels (`<MSB_HOME>/kernel-builds`). */
  readonly kernelBuildsDir: string;
  /** Whether set-up may apt-get install missing packages (the kernel build tools). */
  readonly systemPackages: boolean;
}

/** Milliseconds since `start` (a `performance.now()` value) as `1.23 s`. */
export function elapsed(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(2)} s`;
}

/** A byte count as `12.3 MB`. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
