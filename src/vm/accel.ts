/**
 * Accelerator detection: KVM when QEMU can run a KVM vCPU here (not merely open /dev/kvm), HVF on macOS, otherwise
 * TCG (software emulation).
 */
import { accessSync, constants } from "node:fs";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { InvalidConfigError } from "../errors.js";
import type { GuestArch } from "../setup/arch.js";
import { runtimeArtifacts } from "../setup/artifacts.js";
import type { Accelerator } from "./config.js";
import { KVM_CANNOT_RUN_GUEST, probeKvmCached } from "./kvm-probe.js";

/** Facts the detection depends on, injectable for tests. */
export interface AccelProbe {
  readonly platform: NodeJS.Platform;
  /** Forced accelerator (`MSB_ACCEL`), if any. */
  readonly forced: string | undefined;
  /** Whether KVM works: /dev/kvm opens read-write and QEMU can run a vCPU with it. */
  readonly kvmUsable: () => boolean;
}

/** Whether KVM can be used, and if not, why and what would fix it. */
export interface KvmAccess {
  readonly usable: boolean;
  /** `"/dev/kvm is usable"`, `"/dev/kvm does not exist"`, `"/dev/kvm is not read-write for uid 1000"`... */
  readonly reason: string;
  /** What to do, when it is not usable. */
  readonly fix?: string;
  /** More of what QEMU said when the KVM probe failed (`msb doctor` shows it; the TCG warning does not). */
  readonly detail?: string;
}

/** Checks `/dev/kvm` (opens read-write?) and explains the answer. */
export function kvmAccess(device = "/dev/kvm", platform: NodeJS.Platform = process.platform): KvmAccess {
  if (platform !== "linux") return { usable: false, reason: `KVM is Linux only (this is ${platform})` };
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return { usable: true, reason: `${device} is usable` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    if (code === "ENOENT") {
      return {
        usable: false,
        reason: `${device} does not exist`,
        fix: "load kvm_intel or kvm_amd (modprobe), enable virtualization in the firmware, or nested virtualization when this host is itself a VM",
      };
    }
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return {
        usable: false,
        reason: `${device} is not read-write for uid ${process.getuid?.() ?? "?"}`,
        fix: `add the user to the group of ${device} (usually kvm): sudo usermod -aG kvm $USER, then log in again`,
      };
    }
    return { usable: false, reason: `${device} cannot be opened (${code})` };
  }
}

/** The QEMU and kernel that would run the VMs, and the home that caches whether KVM can run them. */
export interface KvmProbeSite {
  readonly home: string;
  readonly qemuBinary: string;
  readonly arch: GuestArch;
  /** The installed guest kernel: the probe boots it. */
  readonly kernel: string;
}

/**
 * {@link kvmAccess}, then, when the device opens, whether KVM can really boot the guest kernel (a nested or
 * paravirtualised KVM may open and still fail every VM); the second answer is cached per host boot and kernel.
 */
export function hostKvmStatus(site: KvmProbeSite, device = "/dev/kvm"): KvmAccess {
  const access = kvmAccess(device);
  if (!access.usable) return access;
  const probe = probeKvmCached({ ...site, device, cacheFile: msbPaths(site.home).kvmProbeCache });
  if (probe.usable) return access;
  return {
    usable: false,
    reason: `${device} opens, but ${probe.reason ?? "QEMU cannot use it"}`,
    fix: `${KVM_CANNOT_RUN_GUEST}: enable nested virtualization on the outer host; until then VMs run under TCG`,
    ...(probe.qemuSaid === undefined ? {} : { detail: probe.qemuSaid }),
  };
}

/** This host's accelerator for the installed runtime (`MSB_ACCEL`, `MSB_HOME`, the runtime's QEMU). */
export function hostAccelerator(): Accelerator {
  const env = readEnv();
  return detectAccelerator(
    hostAccelProbe(env.accel, { home: env.home, ...runtimeArtifacts({ home: env.home }) }),
  );
}

/** The real probe of this host. */
export function hostAccelProbe(forced: string | undefined, site: KvmProbeSite): AccelProbe {
  return {
    platform: process.platform,
    forced,
    kvmUsable: () => hostKvmStatus(site).usable,
  };
}

/** Picks the accelerator: the forced one if valid, else KVM, HVF or TCG in that order of preference. */
export function detectAccelerator(probe: AccelProbe): Accelerator {
  if (probe.forced !== undefined) {
    if (probe.forced === "kvm" || probe.forced === "hvf" || probe.forced === "tcg") return probe.forced;
    throw new InvalidConfigError("MSB_ACCEL", `unknown accelerator ${JSON.stringify(probe.forced)}`, {
      hint: "use kvm, hvf or tcg",
    });
  }
  if (probe.platform === "linux" && probe.kvmUsable()) return "kvm";
  if (probe.platform === "darwin") return "hvf";
  return "tcg";
}

const TCG_WARNED = Symbol.for("microsandbox.tcgWarningEmitted");

/**
 * Why VMs run under TCG here, for the warning: the setting that asked for it, else what is wrong with KVM (from
 * the cached probe that {@link detectAccelerator} has just consulted, so no second boot of the kernel).
 */
export function tcgReason(forced: string | undefined, site: KvmProbeSite, device = "/dev/kvm"): string {
  if (forced === "tcg") return "MSB_ACCEL=tcg";
  const kvm = hostKvmStatus(site, device);
  return kvm.usable ? "TCG was asked for" : `no usable KVM: ${kvm.reason}`;
}

/**
 * Emits the "running under TCG" warning once per process, saying why (`reason`, computed only then). The flag
 * lives on `process` itself (like Node's own once-only deprecation warnings) so several copies of the library
 * still warn once.
 */
export function warnTcgOnce(reason: () => string): void {
  const holder = process as unknown as Record<symbol, boolean | undefined>;
  if (holder[TCG_WARNED]) return;
  holder[TCG_WARNED] = true;
  process.emitWarning(
    `microVMs run under TCG software emulation, several times slower than with KVM (${reason()})`,
    { code: "MSB_TCG" },
  );
}
