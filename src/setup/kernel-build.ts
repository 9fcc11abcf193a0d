/**
 * Builds the microVM guest kernel from a kernel source tree: the repository's patches (`kernel/patches/`) applied,
 * `make allnoconfig`, the repository's fragment
 * merged with `scripts/kconfig/merge_config.sh`, `make olddefconfig`, a check that every option of the fragment
 * survived, then `make vmlinux` at the lowest CPU priority with one job per core. The result is the
 * uncompressed vmlinux QEMU boots through its PVH entry note.
 */
import { copyFile, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { elapsed } from "./context.js";
import { EM_X86_64, parseElf } from "./elf.js";
import { findExecutable, run } from "./exec.js";
import { BuildProgress, EXPECTED_BUILD_STEPS, progressBar } from "./kernel-build-progress.js";
import { assertFragmentApplied } from "./kernel-config.js";
import { applyKernelPatches, type KernelPatch } from "./kernel-patches.js";
import { hasPvhEntryNote } from "./kernel-image.js";
import type { SetupLog } from "./types.js";

/** Suffix of the kernel release (`6.1.192-microsandbox`): tells this kernel from Debian's in `uname -r`. */
export const KERNEL_LOCALVERSION = "-microsandbox";

/**
 * Everything about how the kernel is built that is not the source or the fragment. It is part of the build
 * cache key: change it (bump the recipe number) whenever the commands below change what they produce.
 */
export const KERNEL_BUILD_RECIPE = [
  "recipe 2",
  "patch -p1 < kernel/patches/*.patch, in name order",
  "make allnoconfig",
  "merge_config.sh -m .config <fragment>",
  "make olddefconfig",
  `make vmlinux LOCALVERSION=${KERNEL_LOCALVERSION}`,
  "KBUILD_BUILD_USER=microsandbox KBUILD_BUILD_HOST=microsandbox",
].join("\n");

/** Environment that makes the build independent of who builds it where (kept out of `uname -v`). */
const BUILD_ENV: Readonly<Record<string, string>> = Object.freeze({
  KBUILD_BUILD_USER: "microsandbox",
  KBUILD_BUILD_HOST: "microsandbox",
  LC_ALL: "C",
});

/** Options of {@link buildKernel}. */
export interface KernelBuildOptions {
  /** Kernel source tree (top-level Makefile). Objects are built in place. */
  readonly sourceTree: string;
  /** Path of the Kconfig fragment (`kernel/microvm.config`). */
  readonly fragmentPath: string;
  /** Source patches applied before configuring (`kernel/patches/`). */
  readonly patches: readonly KernelPatch[];
  /** Parallel make jobs (default: the number of CPUs). */
  readonly jobs?: number;
  readonly log: SetupLog;
  /** Called with every line make prints during `make vmlinux` (the build log). */
  readonly onOutput?: (line: string) => void;
}

/** What a build produced. */
export interface KernelBuildResult {
  /** Path of the built vmlinux (inside the source tree). */
  readonly vmlinux: string;
  /** The final `.config`. */
  readonly dotConfig: string;
  /** `make kernelrelease` (`6.1.192-microsandbox`). */
  readonly release: string;
  /** Wall-clock seconds of the whole build (configuration included). */
  readonly seconds: number;
}

function tool(name: string, pkg: string): string {
  const path = findExecutable(name);
  if (path === undefined) throw new SetupError(`${name} is missing`, { hint: `install the ${pkg} package` });
  return path;
}

/**
 * Configures and builds the kernel in `options.sourceTree`.
 *
 * @throws SetupError when a make step fails (with the tail of its output), when the fragment did not survive
 *   `olddefconfig`, or when the result is not an x86-64 vmlinux with a PVH entry note.
 */
export async function buildKernel(options: KernelBuildOptions): Promise<KernelBuildResult> {
  const start = performance.now();
  const make = tool("make", "make");
  const cwd = options.sourceTree;
  const env = { ...BUILD_ENV };
  await applyKernelPatches(cwd, options.patches);
  await run(make, ["-s", "allnoconfig"], { cwd, env });
  const merge = join(cwd, "scripts", "kconfig", "merge_config.sh");
  await run("/bin/sh", [merge, "-m", ".config", options.fragmentPath], { cwd, env });
  await run(make, ["-s", "olddefconfig"], { cwd, env });
  const dotConfigPath = join(cwd, ".config");
  assertFragmentApplied(await readFile(options.fragmentPath, "utf8"), await readFile(dotConfigPath, "utf8"));
  const patched =
    options.patches.length === 0 ? "" : ` with ${options.patches.map((p) => p.name).join(", ")}`;
  options.log(`kernel build: configured from ${options.fragmentPath}${patched} (${elapsed(start)})`);
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const progress = new BuildProgress(EXPECTED_BUILD_STEPS, 5);
  const buildStart = performance.now();
  options.log(`kernel build: make -j${jobs} vmlinux at nice 19 (the longest step of set-up)`);
  const makeArgs = [`-j${jobs}`, "vmlinux", `LOCALVERSION=${KERNEL_LOCALVERSION}`];
  await run(tool("nice", "coreutils"), ["-n", "19", make, ...makeArgs], {
    cwd,
    env,
    onLine: (line) => {
      options.onOutput?.(line);
      const percent = progress.feed(line);
      if (percent !== undefined)
        options.log(`kernel build: ${progressBar(percent)} (${elapsed(buildStart)})`);
    },
    hint: "the build log is kept next to the build cache; `msb setup --kernel debian` installs Debian's kernel instead",
  });
  options.log(`kernel build: ${progressBar(100)} ${progress.steps} steps (${elapsed(buildStart)})`);
  const { stdout } = await run(make, ["-s", "kernelrelease", `LOCALVERSION=${KERNEL_LOCALVERSION}`], {
    cwd,
    env,
  });
  const vmlinux = join(cwd, "vmlinux");
  const data = await readFile(vmlinux);
  if (parseElf(data, "vmlinux").machine !== EM_X86_64)
    throw new SetupError("the built vmlinux is not x86-64");
  if (!hasPvhEntryNote(data)) {
    throw new SetupError("the built vmlinux has no PVH entry note", { hint: "CONFIG_PVH must be set" });
  }
  return {
    vmlinux,
    dotConfig: dotConfigPath,
    release: stdout.toString("utf8").trim(),
    seconds: (performance.now() - start) / 1000,
  };
}

/** Copies the build's vmlinux and .config to `dir` as `vmlinux` and `config`. */
export async function copyBuildOutputs(result: KernelBuildResult, dir: string): Promise<void> {
  await copyFile(result.vmlinux, join(dir, "vmlinux"));
  await copyFile(result.dotConfig, join(dir, "config"));
}
