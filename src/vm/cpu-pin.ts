/**
 * Which VMs run on one host CPU, and which CPU. Under TCG a virtio-fs request crosses three host threads (the
 * vCPU kicks virtiofsd, virtiofsd signals QEMU's main loop, which interrupts the vCPU: TCG has no irqfd), and a
 * small file costs ~11 requests. Where those threads sit on different CPUs each hand-off wakes an idle CPU,
 * which on a host that is itself a VM (the usual place for TCG: no nested KVM) is slow: measured on this
 * project's machines, a 1-byte virtio-fs read took 125-160 µs with the kernel placing the threads and 48-60 µs
 * with QEMU and virtiofsd on one CPU, and in one session's A/B the storage benchmark's small-file workload on a
 * bind mount went from 0.27x the root disk to 0.35x (ARCHITECTURE.md has the figures). The price is parallelism
 * between the vCPU and QEMU's I/O: exec output throughput fell from ~42 to ~33 MB/s and the exec round trip rose
 * ~15% with QEMU pinned. So only VMs that share host folders are pinned, only with one vCPU, only under TCG (KVM
 * has ioeventfd and irqfd, no main-loop hop), and `MSB_PIN_SHARE_VMS=0` turns it off.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { allowedCpus, leastPinnedCpu, pinnedCounts } from "../os/cpu-affinity.js";
import { findExecutable } from "../setup/exec.js";
import type { Accelerator } from "./config.js";

/** A host CPU to run a VM's processes on, and the `taskset` that puts them there. */
export interface CpuPin {
  readonly cpu: number;
  readonly taskset: string;
}

/** What the choice depends on. */
export interface CpuPinInput {
  readonly accel: Accelerator;
  readonly cpus: number;
  readonly shares: number;
  /** `MSB_PIN_SHARE_VMS` is not `0`. */
  readonly enabled: boolean;
  /** QEMU's binary: its running copies pinned to one CPU are counted to spread VMs over the CPUs. */
  readonly qemuBinary: string;
}

/** Whether a VM of this shape is pinned (before looking at the host). */
export function wantsCpuPin(input: Omit<CpuPinInput, "qemuBinary">): boolean {
  return input.enabled && input.accel === "tcg" && input.cpus === 1 && input.shares > 0;
}

/**
 * The CPU for a VM that {@link wantsCpuPin}: of the CPUs this process may use, the one with the fewest QEMUs
 * already pinned to it. `undefined` (the kernel places the threads) off Linux, without `taskset`, or when this
 * process may use one CPU only anyway.
 */
export function chooseCpuPin(input: CpuPinInput): CpuPin | undefined {
  if (process.platform !== "linux" || !wantsCpuPin(input)) return undefined;
  const taskset = findExecutable("taskset");
  if (taskset === undefined) return undefined;
  const allowed = allowedCpus(readFileSync("/proc/self/status", "utf8"));
  if (allowed === undefined || allowed.length < 2) return undefined;
  // The kernel's name of a process is its binary's name cut to 15 bytes.
  const qemuName = basename(input.qemuBinary).slice(0, 15);
  return { cpu: leastPinnedCpu(allowed, pinnedCounts([qemuName]), process.pid), taskset };
}

/** `argv` run on `pin`'s CPU (`taskset -c N argv...`: it execs, the pid stays), or as it is without a pin. */
export function pinnedArgv(pin: CpuPin | undefined, argv: readonly string[]): string[] {
  return pin === undefined ? [...argv] : [pin.taskset, "-c", String(pin.cpu), ...argv];
}
