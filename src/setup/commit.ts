/**
 * The end of install(): moves what the steps staged in the work directory into the kernel directory and
 * removes files a different format left behind. The manifest is removed first and written again by the caller
 * last, so a crash in between reads as "not installed" and the next install() repairs it.
 */
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AgentStepResult } from "./agent-step.js";
import type { InstallContext } from "./context.js";
import { initrdFileName } from "./initramfs.js";
import type { InitrdStepResult } from "./initrd-step.js";
import { KERNEL_FILE_NAMES, MODULES_DIR, type KernelStepResult } from "./kernel-step.js";
import { MANIFEST_FILE } from "./manifest.js";

/** The results of the install() steps. */
export interface StagedInstall {
  readonly kernel: KernelStepResult;
  readonly agent: AgentStepResult;
  readonly initrd: InitrdStepResult;
}

async function moveIn(ctx: InstallContext, name: string, alternatives: readonly string[]): Promise<void> {
  await rename(join(ctx.workDir, name), join(ctx.kernelDir, name));
  for (const other of alternatives) if (other !== name) await rm(join(ctx.kernelDir, other), { force: true });
}

/**
 * Installs the staged parts of `staged`. Renames within one filesystem: a running VM keeps the files it opened.
 *
 * @returns whether anything was staged (and so moved).
 */
export async function commitStaged(ctx: InstallContext, staged: StagedInstall): Promise<boolean> {
  const { kernel, agent, initrd } = staged;
  if (!kernel.staged && !agent.staged && !initrd.staged) return false;
  await rm(join(ctx.kernelDir, MANIFEST_FILE), { force: true });
  if (kernel.staged) {
    await moveIn(ctx, kernel.kernel.file, Object.values(KERNEL_FILE_NAMES));
    await rm(join(ctx.kernelDir, MODULES_DIR), { recursive: true, force: true });
    await rename(join(ctx.workDir, MODULES_DIR), join(ctx.kernelDir, MODULES_DIR));
  }
  if (agent.staged) await moveIn(ctx, agent.agent.file, []);
  if (initrd.staged) await moveIn(ctx, initrd.initrd.file, (["none", "gzip"] as const).map(initrdFileName));
  return true;
}
