/**
 * What `msb doctor` checks: the accelerator and why, the runtime's versions, the set-up state (the same manifest
 * checks as `isInstalled()`), the host tools, the state directory and its free space, and what to fix. Reuses
 * the VM driver's accelerator detection and set-up's manifest reading: it never decides differently from them.
 */
import { readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readEnv, type MsbEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { MsbError } from "../errors.js";
import { findImageTools, runTool } from "../image/tool.js";
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from "../protocol/constants.js";
import { homeSocketProblem } from "../sdk/context.js";
import { archProfile } from "../setup/arch.js";
import { findExecutable } from "../setup/exec.js";
import { manifestProblems } from "../setup/artifacts.js";
import { kernelFlavorOf, readManifestSync } from "../setup/manifest.js";
import { findPackageRoot } from "../setup/package-root.js";
import type { KernelFlavor } from "../setup/types.js";
import { detectAccelerator, hostKvmStatus, kvmAccess, type KvmAccess } from "../vm/accel.js";
import type { Accelerator } from "../vm/config.js";
import { findVirtiofsd } from "../vm/virtiofsd.js";

/** Free space under which the state directory gets a warning (images and sandbox disks live there). */
export const LOW_DISK_BYTES = 2 * 1024 ** 3;

/** One thing to fix: `error` stops sandboxes from starting, `warning` makes them slow or fragile. */
export interface DoctorFinding {
  readonly severity: "error" | "warning";
  readonly problem: string;
  readonly fix: string;
}

/** The whole report (`msb doctor --format json` prints it as is). */
export interface DoctorReport {
  /** False when any finding is an error. */
  readonly ok: boolean;
  readonly accelerator: {
    /** What the next VM will use (null when `MSB_ACCEL` is invalid). */
    readonly using: Accelerator | null;
    readonly why: string;
    readonly kvm: KvmAccess;
  };
  readonly versions: {
    readonly microsandbox: string;
    readonly node: string;
    readonly qemu: { readonly binary: string; readonly version: string | null } | null;
    /** QEMU's virtiofsd (bind mounts and directory volumes need it), null when missing. */
    readonly virtiofsd: string | null;
    readonly kernel: string | null;
    /** Which guest kernel set-up installed (`msb setup --kernel`), null when none is. */
    readonly kernelFlavor: KernelFlavor | null;
    readonly agent: { readonly sourceHash: string; readonly goVersion: string } | null;
    readonly protocol: string;
  };
  readonly setup: {
    readonly installed: boolean;
    readonly kernelDir: string;
    readonly installedAt: string | null;
    readonly problems: readonly string[];
  };
  /** External programs and where they were found (null: missing). */
  readonly tools: Readonly<Record<string, string | null>>;
  readonly state: {
    readonly home: string;
    readonly freeBytes: number | null;
    readonly totalBytes: number | null;
  };
  readonly findings: readonly DoctorFinding[];
}

/** Runs every check (nothing is changed on the host). */
export async function doctorReport(env: MsbEnv = readEnv()): Promise<DoctorReport> {
  const findings: DoctorFinding[] = [];
  const profile = archProfile();
  const paths = msbPaths(env.home);
  const qemuBinary = env.qemuBinary ?? findExecutable(profile.qemuBinary);
  const read = readManifestSync(paths.kernelDir);
  const manifest = "manifest" in read ? read.manifest : undefined;
  const problems = "manifest" in read ? manifestProblems(paths.kernelDir, read.manifest) : [read.problem];
  // Without QEMU and an installed kernel, whether KVM could boot the guest is unknown: the device check alone
  // is reported.
  const kernel =
    manifest !== undefined && problems.length === 0 ? join(paths.kernelDir, manifest.kernel.file) : undefined;
  const site =
    qemuBinary === undefined || kernel === undefined
      ? undefined
      : { home: env.home, qemuBinary, arch: profile.arch, kernel };
  const kvm = site === undefined ? kvmAccess() : hostKvmStatus(site);
  const accelerator = chooseAccelerator(env, kvm, findings);
  if (qemuBinary === undefined) problems.push(`${profile.qemuBinary} is not on PATH`);
  if (problems.length > 0) {
    findings.push({
      severity: "error",
      problem: `the runtime is not installed or incomplete: ${problems.join("; ")}`,
      fix: "run `sudo npx msb setup` (installs QEMU and builds the guest kernel, initramfs and agent)",
    });
  }
  const tools = await toolPaths(env);
  const missing = Object.entries(tools).filter(([, path]) => path === null);
  if (missing.length > 0) {
    findings.push({
      severity: "error",
      problem: `missing host tools: ${missing.map(([name]) => name).join(", ")}`,
      fix: "apt-get install e2fsprogs qemu-utils util-linux (or run `sudo npx msb setup`)",
    });
  }
  const virtiofsd = process.platform === "linux" ? findVirtiofsd(env.virtiofsdBinary) : undefined;
  if (process.platform === "linux" && virtiofsd === undefined) {
    findings.push({
      severity: "warning",
      problem: "virtiofsd is missing: bind mounts and directory volumes cannot be used",
      fix: "apt-get install qemu-system-common (or set MSB_VIRTIOFSD to a virtiofsd binary)",
    });
  }
  const homeTooLong = socketPathProblem(env.home);
  if (homeTooLong !== undefined) findings.push(homeTooLong);
  const disk = await freeSpace(env.home);
  if (disk !== undefined && disk.free < LOW_DISK_BYTES) {
    findings.push({
      severity: "warning",
      problem: `only ${(disk.free / 1024 ** 3).toFixed(1)} GiB free under ${env.home}`,
      fix: "free disk space, or run `msb prune` to remove stopped sandboxes and unused images",
    });
  }
  return {
    ok: findings.every((f) => f.severity !== "error"),
    accelerator: { ...accelerator, kvm },
    versions: {
      microsandbox: packageVersion(),
      node: process.version,
      qemu: qemuBinary === undefined ? null : { binary: qemuBinary, version: await qemuVersion(qemuBinary) },
      virtiofsd: virtiofsd ?? null,
      kernel: manifest?.kernel.version ?? null,
      kernelFlavor: manifest ? kernelFlavorOf(manifest.kernel) : null,
      agent: manifest ? { sourceHash: manifest.agent.sourceHash, goVersion: manifest.agent.goVersion } : null,
      protocol: protocolRange(MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION),
    },
    setup: {
      installed: problems.length === 0,
      kernelDir: paths.kernelDir,
      installedAt: manifest?.installedAt ?? null,
      problems,
    },
    tools,
    state: { home: env.home, freeBytes: disk?.free ?? null, totalBytes: disk?.total ?? null },
    findings,
  };
}

function chooseAccelerator(
  env: MsbEnv,
  kvm: KvmAccess,
  findings: DoctorFinding[],
): { using: Accelerator | null; why: string } {
  let using: Accelerator;
  try {
    using = detectAccelerator({ platform: process.platform, forced: env.accel, kvmUsable: () => kvm.usable });
  } catch (err) {
    if (!(err instanceof MsbError)) throw err;
    findings.push({
      severity: "error",
      problem: err.message,
      fix: "set MSB_ACCEL to kvm, hvf or tcg, or unset it",
    });
    return { using: null, why: `MSB_ACCEL=${env.accel ?? ""} is not an accelerator` };
  }
  if (env.accel !== undefined) {
    if (using === "kvm" && !kvm.usable) {
      findings.push({
        severity: "error",
        problem: `MSB_ACCEL=kvm but ${kvm.reason}`,
        fix: kvm.fix ?? "unset MSB_ACCEL",
      });
    }
    return { using, why: `forced by MSB_ACCEL=${env.accel}` };
  }
  if (using === "kvm") return { using, why: kvm.reason };
  if (using === "hvf") return { using, why: "macOS: Hypervisor.framework" };
  findings.push({
    severity: "warning",
    problem: `no hardware acceleration (${kvm.reason}): VMs run under TCG software emulation, several times slower`,
    fix: kvm.fix ?? "run on a Linux host with KVM",
  });
  return { using, why: `software emulation: ${kvm.reason}` };
}

async function toolPaths(env: MsbEnv): Promise<Record<string, string | null>> {
  const image = await findImageTools(env.searchPath);
  const found = (path: string): string | null => (path.includes("/") ? path : null);
  return {
    mke2fs: found(image.mke2fs),
    debugfs: found(image.debugfs),
    e2fsck: found(image.e2fsck),
    "qemu-img": found(image.qemuImg),
    ...(process.platform === "linux" ? { setpriv: findExecutable("setpriv") ?? null } : {}),
  };
}

async function qemuVersion(binary: string): Promise<string | null> {
  try {
    const result = await runTool(binary, { args: ["--version"], timeoutMs: 10_000, maxOutputBytes: 4096 });
    return /version\s+(\S+)/i.exec(result.stdout.toString("utf8"))?.[1] ?? null;
  } catch (err) {
    if (err instanceof Error && "code" in err) return null; // cannot run it: reported as missing by set-up
    throw err;
  }
}

/** An error finding when the sandboxes' sockets under `home` would be too long (what create and start refuse). */
function socketPathProblem(home: string): DoctorFinding | undefined {
  const found = homeSocketProblem(home);
  return found === undefined ? undefined : { severity: "error", problem: found.problem, fix: found.hint };
}

/** Free and total bytes of the filesystem holding `path` (its nearest existing ancestor). */
async function freeSpace(path: string): Promise<{ free: number; total: number } | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const fs = await statfs(dir);
      return { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(dir) === dir) return undefined;
    }
  }
}

function protocolRange(min: number, max: number): string {
  return min === max ? String(max) : `${min}-${max}`;
}

function packageVersion(): string {
  const text = readFileSync(join(findPackageRoot(), "package.json"), "utf8");
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}
