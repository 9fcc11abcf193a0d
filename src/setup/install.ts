/**
 * install(): puts everything the runtime needs under `<MSB_HOME>/kernel/`: host packages (QEMU, qemu-img,
 * mke2fs, Go, ...), the Debian cloud kernel and its virtio modules, the static guest agent and the initramfs,
 * then `manifest.json` last. Idempotent: steps whose inputs did not change are skipped.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { readEnv } from "../config/env.js";
import { SetupError } from "../errors.js";
import { stageAgent } from "./agent-step.js";
import { Apt } from "./apt.js";
import { archProfile } from "./arch.js";
import { kernelDirOf, manifestProblems, runtimeArtifacts } from "./artifacts.js";
import { elapsed, type InstallContext } from "./context.js";
import { findExecutable, run } from "./exec.js";
import { commitStaged } from "./commit.js";
import { stageInitrd } from "./initrd-step.js";
import { kernelBuildsDirOf } from "./kernel-cache.js";
import { DEFAULT_KERNEL_FLAVOR, stageKernel } from "./kernel-choice.js";
import { acquireInstallLock } from "./lock.js";
import { readManifest, writeManifest, type Manifest } from "./manifest.js";
import { defaultAgentSourceDir } from "./package-root.js";
import { ensureHostTools } from "./system-deps.js";
import type { InstallOptions, RuntimeArtifacts } from "./types.js";

const WORK_PREFIX = ".work-";

async function removeStaleWorkDirs(kernelDir: string): Promise<void> {
  for (const name of await readdir(kernelDir)) {
    if (name.startsWith(WORK_PREFIX)) await rm(join(kernelDir, name), { recursive: true, force: true });
  }
}

async function previousManifest(
  kernelDir: string,
  log: (line: string) => void,
): Promise<Manifest | undefined> {
  const read = await readManifest(kernelDir);
  if ("problem" in read) {
    log(`no usable install yet (${read.problem})`);
    return undefined;
  }
  return read.manifest;
}

async function qemuInfo(ctx: InstallContext): Promise<{ binary: string; version: string }> {
  const binary = readEnv().qemuBinary ?? findExecutable(ctx.profile.qemuBinary);
  if (binary === undefined) throw new SetupError(`${ctx.profile.qemuBinary} is not on PATH`);
  const { stdout } = await run(binary, ["--version"]);
  const version = /version\s+(\S+)/.exec(stdout.toString("utf8"))?.[1] ?? "unknown";
  return { binary, version };
}

type Records = Pick<Manifest, "kernel" | "modules" | "initrd" | "agent">;

function sameRecords(records: Records, previous: Manifest): boolean {
  const { kernel, modules, initrd, agent } = previous;
  return JSON.stringify(records) === JSON.stringify({ kernel, modules, initrd, agent });
}

async function runSteps(ctx: InstallContext, options: InstallOptions): Promise<void> {
  let start = performance.now();
  await ensureHostTools({
    profile: ctx.profile,
    systemPackages: options.systemPackages !== false,
    apt: ctx.apt,
    log: ctx.log,
  });
  ctx.log(`host packages: ok (${elapsed(start)})`);
  const previous = ctx.force ? undefined : await previousManifest(ctx.kernelDir, ctx.log);
  // The agent first: while it is being developed it is the step most likely to fail, and failing before the
  // kernel download keeps retries cheap. Nothing is installed until every step succeeded.
  const agent = await stageAgent(ctx, previous, options.agentSourceDir ?? defaultAgentSourceDir());
  const kernel = await stageKernel(ctx, previous);
  const initrd = await stageInitrd(ctx, previous, kernel, agent);
  const records = {
    kernel: kernel.kernel,
    modules: kernel.modules,
    initrd: initrd.initrd,
    agent: agent.agent,
  };
  const staged = kernel.staged || agent.staged || initrd.staged;
  if (!staged && previous !== undefined && sameRecords(records, previous)) {
    if (manifestProblems(ctx.kernelDir, previous).length === 0) return;
  }
  start = performance.now();
  const manifest: Manifest = {
    schema: 1,
    arch: ctx.profile.arch,
    installedAt: new Date().toISOString(),
    ...records,
    qemu: await qemuInfo(ctx),
  };
  await commitStaged(ctx, { kernel, agent, initrd });
  await writeManifest(ctx.kernelDir, manifest);
  ctx.log(`installed, manifest written (${elapsed(start)})`);
}

/**
 * Installs the microsandbox runtime, or brings it up to date. Safe to call repeatedly: when nothing changed it
 * only checks (well under a second). Needs root only to install missing Debian packages.
 *
 * @returns the installed {@link RuntimeArtifacts}.
 * @throws SetupError when a step fails (missing packages without root, download failure, agent does not
 *   compile, ...); the message says what to do.
 */
export async function install(options: InstallOptions = {}): Promise<RuntimeArtifacts> {
  const start = performance.now();
  const log = options.log ?? ((): void => undefined);
  const profile = archProfile();
  const kernelDir = kernelDirOf(options);
  await mkdir(kernelDir, { recursive: true });
  const release = await acquireInstallLock(kernelDir);
  try {
    await removeStaleWorkDirs(kernelDir);
    const workDir = await mkdtemp(join(kernelDir, WORK_PREFIX));
    try {
      log(`installing the microsandbox runtime (${profile.arch}) into ${kernelDir}`);
      const ctx: InstallContext = {
        kernelDir,
        workDir,
        profile,
        apt: Apt.find(log),
        log,
        force: options.force === true,
        kernelFlavor: options.kernel ?? DEFAULT_KERNEL_FLAVOR,
        kernelBuildsDir: kernelBuildsDirOf(options),
        systemPackages: options.systemPackages !== false,
      };
      await runSteps(ctx, options);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  } finally {
    await release();
  }
  const artifacts = runtimeArtifacts(options);
  log(`runtime ready in ${elapsed(start)}: kernel ${artifacts.kernelVersion} (${artifacts.kernelFormat})`);
  return artifacts;
}
