/**
 * install() step for the `microvm` kernel: resolves Debian's kernel source package, and stages the vmlinux built
 * from it with the repository's config fragment, from the build cache when these exact inputs were built before,
 * else by building it (downloading the source, ~140 MB, then a long `make`). The kernel has no modules: the
 * initramfs gets empty module lists.
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { aptListsStamp, type Apt } from "./apt.js";
import { elapsed, megabytes, type InstallContext } from "./context.js";
import { buildKernel, copyBuildOutputs, KERNEL_BUILD_RECIPE } from "./kernel-build.js";
import {
  commitKernel,
  kernelBuildKey,
  lookupKernel,
  newScratchDir,
  previousBuildFailure,
  recordBuildFailure,
  type CachedKernel,
} from "./kernel-cache.js";
import { defaultPatchesDir, readKernelPatches, type KernelPatch } from "./kernel-patches.js";
import { KERNEL_SOURCE_PACKAGE, fetchKernelSource, resolveKernelSource } from "./kernel-source.js";
import { KERNEL_FILE_NAMES, MODULES_DIR, type KernelStepResult } from "./kernel-step.js";
import { kernelFlavorOf, type KernelRecord, type Manifest, type ModulesRecord } from "./manifest.js";
import { findPackageRoot } from "./package-root.js";
import { ensureHostTools, kernelBuildTools } from "./system-deps.js";

/** The config fragment shipped with this package. */
export function defaultFragmentPath(): string {
  return join(findPackageRoot(), "kernel", "microvm.config");
}

const NO_MODULES: ModulesRecord = Object.freeze({ requested: [], files: [], virtiofs: [] });

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    },
  );
}

async function installedMatches(ctx: InstallContext, previous: Manifest | undefined, key: string) {
  if (ctx.force || previous === undefined || kernelFlavorOf(previous.kernel) !== "microvm") return false;
  if (previous.kernel.buildKey !== key || previous.arch !== ctx.profile.arch) return false;
  return (await sizeOf(join(ctx.kernelDir, previous.kernel.file))) === previous.kernel.size;
}

async function build(
  ctx: InstallContext,
  apt: Apt,
  source: { name: string; version: string; sha256: string },
  key: string,
  inputs: { readonly fragmentPath: string; readonly patches: readonly KernelPatch[] },
): Promise<CachedKernel> {
  const failure = ctx.force ? undefined : await previousBuildFailure(ctx.kernelBuildsDir, key);
  if (failure !== undefined) {
    throw new SetupError(`building this kernel failed before: ${failure}`, {
      hint: "fix the cause, then retry with `msb setup --kernel microvm --force`",
    });
  }
  await ensureHostTools({
    profile: ctx.profile,
    systemPackages: ctx.systemPackages,
    apt,
    log: ctx.log,
    tools: kernelBuildTools(),
  });
  const scratch = await newScratchDir(ctx.kernelBuildsDir);
  const logLines: string[] = [];
  try {
    let start = performance.now();
    ctx.log(`kernel: downloading ${source.name} ${source.version} (about 140 MB)`);
    const tree = await fetchKernelSource(apt, source, join(scratch, "src"));
    ctx.log(`kernel: source unpacked (${elapsed(start)})`);
    start = performance.now();
    const result = await buildKernel({
      sourceTree: tree,
      fragmentPath: inputs.fragmentPath,
      patches: inputs.patches,
      log: ctx.log,
      onOutput: (line) => {
        if (logLines.length < 100_000) logLines.push(line);
      },
    }).catch(async (err: unknown) => {
      // Remembered so later set-ups fall back at once instead of spending the build time again.
      if (err instanceof SetupError) {
        await recordBuildFailure(ctx.kernelBuildsDir, key, err.message.split("\n")[0] ?? err.message);
      }
      throw err;
    });
    const entry = join(scratch, "entry");
    await mkdir(entry);
    await copyBuildOutputs(result, entry);
    await writeFile(join(entry, "build.log"), `${logLines.join("\n")}\n`);
    const size = (await stat(join(entry, "vmlinux"))).size;
    ctx.log(`kernel: built ${result.release}, ${megabytes(size)} in ${elapsed(start)}`);
    return await commitKernel(ctx.kernelBuildsDir, entry, {
      key,
      release: result.release,
      sourcePackage: source.name,
      sourceVersion: source.version,
      buildSeconds: Math.round(result.seconds),
      size,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Stages the `microvm` kernel, or keeps the installed one when it was built from the same inputs.
 *
 * @throws SetupError when it cannot be built here (no apt, missing tools without root, download or build failure).
 */
export async function stageMicrovmKernel(
  ctx: InstallContext,
  previous: Manifest | undefined,
  fragmentPath: string = defaultFragmentPath(),
  patchesDir: string = defaultPatchesDir(),
): Promise<KernelStepResult> {
  if (ctx.profile.arch !== "x86_64") {
    throw new SetupError(`the microvm kernel is only built for x86_64, not ${ctx.profile.arch}`);
  }
  const apt = ctx.apt;
  if (apt === undefined) {
    throw new SetupError("the kernel source comes from Debian's archive, but this host has no apt-get");
  }
  const stamp = await aptListsStamp();
  const fragment = await readFile(fragmentPath, "utf8");
  const patches = await readKernelPatches(patchesDir);
  const old = previous?.kernel;
  const reuse =
    !ctx.force &&
    old?.aptListsStamp === stamp &&
    old.package === KERNEL_SOURCE_PACKAGE &&
    old.sourceSha256 !== undefined;
  const source = reuse
    ? { name: old.package, version: old.packageVersion, sha256: old.sourceSha256 ?? "" }
    : await resolveKernelSource(apt);
  const key = kernelBuildKey({
    sourceSha256: source.sha256,
    fragment,
    patches,
    recipe: KERNEL_BUILD_RECIPE,
    arch: ctx.profile.arch,
  });
  if (previous !== undefined && old !== undefined && (await installedMatches(ctx, previous, key))) {
    ctx.log(`kernel: up to date: ${old.version} built from ${old.package} ${old.packageVersion}`);
    return {
      kernel: { ...old, aptListsStamp: stamp },
      modules: previous.modules,
      staged: false,
      location: ctx.kernelDir,
    };
  }
  const cached = ctx.force ? undefined : await lookupKernel(ctx.kernelBuildsDir, key);
  if (cached !== undefined) ctx.log(`kernel: ${cached.info.release} from the build cache (${cached.dir})`);
  const kernel = cached ?? (await build(ctx, apt, source, key, { fragmentPath, patches }));
  const file = KERNEL_FILE_NAMES["pvh-vmlinux"];
  await copyFile(kernel.vmlinux, join(ctx.workDir, file));
  await mkdir(join(ctx.workDir, MODULES_DIR), { recursive: true });
  const record: KernelRecord = {
    file,
    format: "pvh-vmlinux",
    version: kernel.info.release,
    package: KERNEL_SOURCE_PACKAGE,
    packageVersion: kernel.info.sourceVersion,
    aptListsStamp: stamp,
    size: kernel.info.size,
    flavor: "microvm",
    sourceSha256: source.sha256,
    buildKey: key,
  };
  return { kernel: record, modules: NO_MODULES, staged: true, location: ctx.workDir };
}
