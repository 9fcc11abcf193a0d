/**
 * install() step for the `debian` kernel: Debian's cloud kernel and its modules. Reuses the installed ones while apt's lists are unchanged
 * (or still offer the same package); otherwise downloads the cloud kernel package and stages the prepared kernel
 * file and the required modules (in load order) in the work directory for the commit.
 */
import { existsSync, statSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { aptListsStamp, type DebPackage } from "./apt.js";
import { elapsed, megabytes, type InstallContext } from "./context.js";
import { prepareKernel } from "./kernel-image.js";
import { fetchKernelPackage } from "./kernel-package.js";
import { kernelFlavorOf, type KernelRecord, type Manifest, type ModulesRecord } from "./manifest.js";
import {
  REQUESTED_MODULES,
  REQUIRED_MODULES,
  indexModuleTree,
  onDemandModules,
  resolveModules,
} from "./modules.js";
import type { KernelFormat } from "./types.js";

/** File name of the kernel in the kernel directory, per format. */
export const KERNEL_FILE_NAMES: Readonly<Record<KernelFormat, string>> = Object.freeze({
  "pvh-vmlinux": "vmlinux",
  bzimage: "bzImage",
  image: "Image",
});

/** Directory (inside the kernel directory) holding the modules that go into the initramfs. */
export const MODULES_DIR = "modules";

/** What the kernel step produced. */
export interface KernelStepResult {
  readonly kernel: KernelRecord;
  readonly modules: ModulesRecord;
  /** True when a new kernel and modules were staged in the work directory (false: the installed ones are kept). */
  readonly staged: boolean;
  /** Directory holding the kernel file and the `modules/` directory now: the work or the kernel directory. */
  readonly location: string;
}

function fileSize(path: string): number | undefined {
  return existsSync(path) ? statSync(path).size : undefined;
}

/**
 * True when `previous` describes a Debian kernel + modules that are all present and match the current module
 * list.
 */
export function kernelIntact(ctx: InstallContext, previous: Manifest | undefined): previous is Manifest {
  return (
    previous !== undefined &&
    !ctx.force &&
    kernelFlavorOf(previous.kernel) === "debian" &&
    previous.arch === ctx.profile.arch &&
    previous.modules.requested.join(",") === REQUESTED_MODULES.join(",") &&
    fileSize(join(ctx.kernelDir, previous.kernel.file)) === previous.kernel.size &&
    [...previous.modules.files, ...previous.modules.virtiofs].every((f) =>
      existsSync(join(ctx.kernelDir, MODULES_DIR, f)),
    )
  );
}

async function resolvePackage(ctx: InstallContext): Promise<DebPackage> {
  if (ctx.apt === undefined) {
    throw new SetupError(
      "the guest kernel is downloaded from Debian's archive, but this host has no apt-get",
      {
        hint: "run set-up on Debian 12 (bookworm) or a derivative with the Debian archive in its apt sources",
      },
    );
  }
  const start = performance.now();
  const pkg = await ctx.apt.resolveKernelPackage(ctx.profile.kernelMetaPackage);
  ctx.log(`kernel: ${ctx.profile.kernelMetaPackage} -> ${pkg.name} ${pkg.version} (${elapsed(start)})`);
  return pkg;
}

async function stageModules(
  ctx: InstallContext,
  paths: readonly { path: string; fileName: string }[],
): Promise<void> {
  const staged = join(ctx.workDir, MODULES_DIR);
  await mkdir(staged, { recursive: true });
  for (const m of paths) await copyFile(m.path, join(staged, m.fileName));
}

async function download(ctx: InstallContext, pkg: DebPackage, stamp: string): Promise<KernelStepResult> {
  const apt = ctx.apt;
  if (apt === undefined) throw new SetupError("apt-get is required to download the kernel");
  let start = performance.now();
  const unpacked = await fetchKernelPackage(apt, pkg, join(ctx.workDir, "kernel-package"));
  ctx.log(`kernel: downloaded and unpacked ${pkg.name} (${elapsed(start)})`);
  start = performance.now();
  const prepared = await prepareKernel(await readFile(unpacked.vmlinuz), ctx.profile, ctx.log);
  ctx.log(
    `kernel: ${prepared.format} ${unpacked.kernelVersion}, ${megabytes(prepared.data.length)} (${elapsed(start)})`,
  );
  start = performance.now();
  const tree = await indexModuleTree(unpacked.modulesRoot);
  const modules = await resolveModules(tree, REQUIRED_MODULES, unpacked.kernelVersion);
  const virtiofs = onDemandModules(
    await resolveModules(tree, REQUESTED_MODULES, unpacked.kernelVersion),
    modules,
  );
  ctx.log(
    `kernel: ${modules.length} modules in load order: ${modules.map((m) => m.name).join(" ")}; for virtio-fs: ${virtiofs.map((m) => m.name).join(" ")} (${elapsed(start)})`,
  );
  const file = KERNEL_FILE_NAMES[prepared.format];
  await writeFile(join(ctx.workDir, file), prepared.data);
  await stageModules(ctx, [...modules, ...virtiofs]);
  return {
    kernel: {
      file,
      format: prepared.format,
      version: unpacked.kernelVersion,
      package: pkg.name,
      packageVersion: pkg.version,
      aptListsStamp: stamp,
      size: prepared.data.length,
      flavor: "debian",
    },
    modules: {
      requested: [...REQUESTED_MODULES],
      files: modules.map((m) => m.fileName),
      virtiofs: virtiofs.map((m) => m.fileName),
    },
    staged: true,
    location: ctx.workDir,
  };
}

/**
 * Stages a new Debian cloud kernel and its modules, or keeps the installed ones.
 *
 * @param previous - the manifest of the current install, if any.
 */
export async function stageDebianKernel(
  ctx: InstallContext,
  previous: Manifest | undefined,
): Promise<KernelStepResult> {
  const stamp = await aptListsStamp();
  const intact = kernelIntact(ctx, previous);
  const keep = (why: string, kernel?: KernelRecord): KernelStepResult => {
    if (!intact) throw new SetupError("internal: keeping a kernel that is not installed");
    ctx.log(
      `kernel: ${why}: ${previous.kernel.package} ${previous.kernel.packageVersion} (${previous.kernel.format})`,
    );
    return {
      kernel: kernel ?? previous.kernel,
      modules: previous.modules,
      staged: false,
      location: ctx.kernelDir,
    };
  };
  if (intact && previous.kernel.aptListsStamp === stamp) return keep("up to date");
  if (intact && ctx.kernelFlavor === "microvm") return keep("installed as the fallback");
  let pkg: DebPackage;
  try {
    pkg = await resolvePackage(ctx);
  } catch (err) {
    if (!intact || !(err instanceof SetupError)) throw err;
    return keep(`could not check for a newer kernel (${err.message}); keeping`);
  }
  if (intact && pkg.name === previous.kernel.package && pkg.version === previous.kernel.packageVersion) {
    return keep("up to date", { ...previous.kernel, aptListsStamp: stamp });
  }
  return download(ctx, pkg, stamp);
}
