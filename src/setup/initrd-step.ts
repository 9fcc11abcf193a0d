/**
 * install() step: the initramfs, assembled from the (staged or installed) agent and modules. Rebuilt into the
 * work directory whenever either changed, the compression changed, or the installed file is missing.
 */
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentStepResult } from "./agent-step.js";
import { elapsed, megabytes, type InstallContext } from "./context.js";
import {
  DEFAULT_INITRD_COMPRESSION,
  buildInitramfs,
  initrdFileName,
  type InitrdCompression,
} from "./initramfs.js";
import { MODULES_DIR, type KernelStepResult } from "./kernel-step.js";
import type { InitrdRecord, Manifest } from "./manifest.js";

/** What the initramfs step produced. */
export interface InitrdStepResult {
  readonly initrd: InitrdRecord;
  /** True when a new initramfs was written to the work directory (false: the installed one is kept). */
  readonly staged: boolean;
}

async function installedIntact(
  ctx: InstallContext,
  previous: Manifest,
  compression: InitrdCompression,
): Promise<boolean> {
  if (ctx.force || previous.initrd.compression !== compression) return false;
  const size = await stat(join(ctx.kernelDir, previous.initrd.file)).then(
    (s) => s.size,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    },
  );
  return size === previous.initrd.size;
}

/** Builds the initramfs for the results of the kernel and agent steps, or keeps the installed one. */
export async function stageInitrd(
  ctx: InstallContext,
  previous: Manifest | undefined,
  kernel: KernelStepResult,
  agent: AgentStepResult,
  compression: InitrdCompression = DEFAULT_INITRD_COMPRESSION,
): Promise<InitrdStepResult> {
  if (
    !kernel.staged &&
    !agent.staged &&
    previous !== undefined &&
    (await installedIntact(ctx, previous, compression))
  ) {
    ctx.log(`initramfs: up to date (${previous.initrd.file})`);
    return { initrd: previous.initrd, staged: false };
  }
  const start = performance.now();
  const load = (files: readonly string[]): Promise<{ fileName: string; data: Buffer }[]> =>
    Promise.all(
      files.map(async (fileName) => ({
        fileName,
        data: await readFile(join(kernel.location, MODULES_DIR, fileName)),
      })),
    );
  const modules = await load(kernel.modules.files);
  const virtiofsModules = await load(kernel.modules.virtiofs);
  const init = await readFile(join(agent.location, agent.agent.file));
  const image = buildInitramfs({ init, modules, virtiofsModules }, compression);
  const file = initrdFileName(compression);
  await writeFile(join(ctx.workDir, file), image);
  ctx.log(
    `initramfs: ${file}, ${megabytes(image.length)}, ${modules.length} + ${virtiofsModules.length} modules (${elapsed(start)})`,
  );
  return { initrd: { file, compression, size: image.length }, staged: true };
}
