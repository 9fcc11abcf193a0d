/** Facts about the host that set-up and the VM driver need. */
import { readFileSync } from "node:fs";

/**
 * Reads the CPU frequency in kHz from the text of `/proc/cpuinfo` (the first `cpu MHz` line), or `undefined`
 * when there is none (arm64 hosts print no such line).
 */
export function parseCpuinfoKhz(cpuinfo: string): number | undefined {
  const match = /^cpu MHz\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*$/m.exec(cpuinfo);
  if (match?.[1] === undefined) return undefined;
  const khz = Math.round(Number(match[1]) * 1000);
  return Number.isFinite(khz) && khz > 0 ? khz : undefined;
}

/**
 * The host TSC frequency in kHz, for the guest kernel's `tsc_early_khz=` under TCG (without it, microvm boots
 * hang at random: the guest cannot calibrate its TSC). Taken from `/proc/cpuinfo` `cpu MHz`, which is the TSC
 * rate on constant-TSC x86 hosts. `undefined` when unknown (not Linux, not x86, unreadable): then pass nothing.
 */
export function hostTscKhz(): number | undefined {
  try {
    return parseCpuinfoKhz(readFileSync("/proc/cpuinfo", "utf8"));
  } catch (err) {
    if (err instanceof Error && "code" in err) return undefined;
    throw err;
  }
}

/** True when this process runs as root (uid 0), i.e. may install system packages. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
