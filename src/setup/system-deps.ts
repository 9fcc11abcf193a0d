/**
 * The host programs the runtime and set-up need, the Debian packages that provide them, and installing the
 * missing ones with apt-get.
 */
import { existsSync } from "node:fs";
import { SetupError } from "../errors.js";
import type { Apt } from "./apt.js";
import type { ArchProfile } from "./arch.js";
import { findExecutable } from "./exec.js";
import { isRoot } from "./host.js";
import type { SetupLog } from "./types.js";

/** A program on the host and the Debian package that provides it. */
export interface HostTool {
  readonly binary: string;
  readonly debianPackage: string;
  /** When set, the tool is "present" when this file exists (a library's header) instead of by `binary`. */
  readonly file?: string;
  /** Why it is needed (shown when it is missing). */
  readonly purpose: string;
}

/** Programs needed on a host of architecture `profile`. */
export function requiredTools(profile: ArchProfile): HostTool[] {
  return [
    { binary: profile.qemuBinary, debianPackage: profile.qemuPackage, purpose: "runs the microVMs" },
    { binary: "qemu-img", debianPackage: "qemu-utils", purpose: "creates copy-on-write sandbox disks" },
    { binary: "mke2fs", debianPackage: "e2fsprogs", purpose: "builds root filesystem images" },
    { binary: "go", debianPackage: "golang-go", purpose: "builds the guest agent" },
    { binary: "dpkg-deb", debianPackage: "dpkg", purpose: "unpacks the guest kernel package" },
    ...(profile.arch === "x86_64"
      ? [{ binary: "lz4", debianPackage: "lz4", purpose: "unpacks the guest kernel for direct (PVH) boot" }]
      : []),
  ];
}

/**
 * What building the guest kernel from source needs (the compiler, Kbuild's tools, libelf for objtool, xz for
 * the source tarball). Only required when set-up builds the kernel.
 */
export function kernelBuildTools(): HostTool[] {
  const purpose = "builds the guest kernel";
  return [
    { binary: "gcc", debianPackage: "gcc", purpose },
    { binary: "make", debianPackage: "make", purpose },
    { binary: "flex", debianPackage: "flex", purpose },
    { binary: "bison", debianPackage: "bison", purpose },
    { binary: "bc", debianPackage: "bc", purpose },
    { binary: "patch", debianPackage: "patch", purpose: "applies kernel/patches/ to the kernel source" },
    { binary: "perl", debianPackage: "perl-base", purpose },
    { binary: "xz", debianPackage: "xz-utils", purpose: "unpacks the kernel source" },
    { binary: "tar", debianPackage: "tar", purpose: "unpacks the kernel source" },
    { binary: "libelf.h", file: "/usr/include/libelf.h", debianPackage: "libelf-dev", purpose },
    { binary: "stdio.h", file: "/usr/include/stdio.h", debianPackage: "libc6-dev", purpose },
  ];
}

/** The tools of `tools` that are not found on this host. */
export function missingTools(tools: readonly HostTool[]): HostTool[] {
  return tools.filter((t) =>
    t.file === undefined ? findExecutable(t.binary) === undefined : !existsSync(t.file),
  );
}

function packagesOf(tools: readonly HostTool[]): string[] {
  return [...new Set(tools.map((t) => t.debianPackage))];
}

function describe(tools: readonly HostTool[]): string {
  return tools.map((t) => `${t.binary} (${t.purpose})`).join(", ");
}

/** Options of {@link ensureHostTools}. */
export interface EnsureToolsOptions {
  readonly profile: ArchProfile;
  /** `false`: never run apt-get, fail with instructions instead. */
  readonly systemPackages: boolean;
  /** The host's apt, if it has one. */
  readonly apt: Apt | undefined;
  readonly log: SetupLog;
  /** The tools to ensure (default: {@link requiredTools} of `profile`). */
  readonly tools?: readonly HostTool[];
}

/**
 * Makes sure every tool of `options.tools` (default {@link requiredTools}) is present, installing the missing packages with apt-get when
 * allowed and possible.
 *
 * @throws SetupError naming the missing programs and the exact command to install them when they are missing
 *   and cannot be installed here (not root, no apt-get, or `systemPackages: false`).
 */
export async function ensureHostTools(options: EnsureToolsOptions): Promise<void> {
  const tools = options.tools ?? requiredTools(options.profile);
  const missing = missingTools(tools);
  if (missing.length === 0) return;
  const packages = packagesOf(missing);
  const command = `sudo apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (options.apt === undefined) {
    throw new SetupError(`missing programs: ${describe(missing)}`, {
      hint: "this host has no apt-get: install them by hand and make sure they are on PATH",
    });
  }
  if (!options.systemPackages) {
    throw new SetupError(`missing programs: ${describe(missing)}`, { hint: `install them with: ${command}` });
  }
  if (!isRoot()) {
    throw new SetupError(`missing Debian packages: ${packages.join(" ")} (for ${describe(missing)})`, {
      hint: `run: ${command} (or run set-up as root)`,
    });
  }
  options.log(`installing missing packages: ${packages.join(" ")}`);
  await options.apt.install(packages);
  const still = missingTools(tools);
  if (still.length > 0) {
    throw new SetupError(`still missing after apt-get install: ${describe(still)}`, {
      hint: "check that the apt sources include Debian 12 (bookworm) main",
    });
  }
}
