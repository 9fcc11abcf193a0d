/** Answers "is the runtime installed, and where are its parts?" from the manifest, synchronously and cheaply. */
import { statSync } from "node:fs";
import { join } from "node:path";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { RuntimeNotInstalledError } from "../errors.js";
import { archProfile } from "./arch.js";
import { findExecutable } from "./exec.js";
import type { Manifest } from "./manifest.js";
import { kernelFlavorOf, readManifestSync } from "./manifest.js";
import { REQUESTED_MODULES } from "./modules.js";
import type { RuntimeArtifacts, RuntimeLocationOptions } from "./types.js";

/** The kernel directory for `options.home` (default: `MSB_HOME` or `~/.microsandbox`). */
export function kernelDirOf(options: RuntimeLocationOptions): string {
  return msbPaths(options.home ?? readEnv().home).kernelDir;
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Everything wrong with the installed files of `manifest` (missing, or of another size than recorded). */
export function manifestProblems(kernelDir: string, manifest: Manifest): string[] {
  const problems: string[] = [];
  const profile = archProfile();
  if (manifest.arch !== profile.arch)
    problems.push(`it was built for ${manifest.arch}, this host is ${profile.arch}`);
  const requested = kernelFlavorOf(manifest.kernel) === "microvm" ? [] : REQUESTED_MODULES;
  if (manifest.modules.requested.join(",") !== requested.join(",")) {
    problems.push(
      `its kernel modules (${manifest.modules.requested.join(", ")}) are not the ones this version needs`,
    );
  }
  const files = [
    ...[manifest.kernel, manifest.initrd, manifest.agent].map((r) => ({
      path: join(kernelDir, r.file),
      size: r.size,
    })),
    ...[...manifest.modules.files, ...manifest.modules.virtiofs].map((f) => ({
      path: join(kernelDir, "modules", f),
      size: undefined,
    })),
  ];
  for (const file of files) {
    const size = sizeOf(file.path);
    if (size === undefined) problems.push(`${file.path} is missing`);
    else if (file.size !== undefined && size !== file.size) problems.push(`${file.path} has the wrong size`);
  }
  return problems;
}

/**
 * Paths and facts of the installed runtime, for the VM driver. Checks that the manifest exists and matches this
 * host and version, that every file it names is present, and that QEMU is on PATH (or `MSB_QEMU` is set). It
 * does not hash the agent sources: install() does that and rebuilds what changed.
 *
 * @throws RuntimeNotInstalledError naming everything that is missing.
 */
export function runtimeArtifacts(options: RuntimeLocationOptions = {}): RuntimeArtifacts {
  const kernelDir = kernelDirOf(options);
  const read = readManifestSync(kernelDir);
  if ("problem" in read)
    throw new RuntimeNotInstalledError(`the microsandbox runtime is not installed: ${read.problem}`);
  const { manifest } = read;
  const profile = archProfile();
  const problems = manifestProblems(kernelDir, manifest);
  const qemuBinary = readEnv().qemuBinary ?? findExecutable(profile.qemuBinary);
  if (qemuBinary === undefined)
    problems.push(`${profile.qemuBinary} is not on PATH (package ${profile.qemuPackage})`);
  if (problems.length > 0 || qemuBinary === undefined) {
    throw new RuntimeNotInstalledError(
      `the microsandbox runtime in ${kernelDir} is incomplete: ${problems.join("; ")}`,
    );
  }
  return Object.freeze({
    kernel: join(kernelDir, manifest.kernel.file),
    initrd: join(kernelDir, manifest.initrd.file),
    agent: join(kernelDir, manifest.agent.file),
    kernelVersion: manifest.kernel.version,
    qemuBinary,
    arch: manifest.arch,
    kernelFormat: manifest.kernel.format,
    kernelFlavor: kernelFlavorOf(manifest.kernel),
  });
}

/** True when {@link runtimeArtifacts} would succeed: the runtime is completely installed for this host. */
export function isInstalled(options: RuntimeLocationOptions = {}): boolean {
  try {
    runtimeArtifacts(options);
    return true;
  } catch (err) {
    if (err instanceof RuntimeNotInstalledError) return false;
    throw err;
  }
}
