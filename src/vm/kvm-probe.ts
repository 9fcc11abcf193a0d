/**
 * Whether QEMU can actually run a KVM vCPU on this host. An openable `/dev/kvm` is not enough: a nested or
 * paravirtualised KVM (seen: a `kvm-pvm` host kernel) opens fine, then QEMU aborts while setting up the vCPU
 * ("failed to set MSR 0x10a"). The probe starts QEMU paused with the same machine and CPU a sandbox uses, finishes
 * its set-up over QMP on stdin and quits; a clean exit means KVM works. The answer is cached in a file keyed by
 * the host boot, the device and the QEMU binary, so only the first VM after a change pays for it (~30 ms).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GuestArch } from "../setup/arch.js";

/** What the probe found. */
export interface KvmProbeResult {
  readonly usable: boolean;
  /** Why not, in QEMU's words, when not usable. */
  readonly reason?: string;
}

/** Where and with what to probe. */
export interface KvmProbeOptions {
  readonly qemuBinary: string;
  readonly arch: GuestArch;
  /** The cache file (under `MSB_HOME`). */
  readonly cacheFile: string;
  readonly device?: string;
  /** Bound on the probe's run time. */
  readonly timeoutMs?: number;
}

/** The probe's answer from the cache when it still applies, else from a fresh probe (then cached). */
export function probeKvmCached(options: KvmProbeOptions): KvmProbeResult {
  const key = probeKey(options);
  const cached = readCache(options.cacheFile, key);
  if (cached !== undefined) return cached;
  const result = probeKvm(options);
  writeCache(options.cacheFile, key, result);
  return result;
}

/** Starts QEMU paused under KVM with a sandbox's machine and CPU, completes its set-up and quits. */
export function probeKvm(options: KvmProbeOptions): KvmProbeResult {
  const machine = options.arch === "x86_64" ? "microvm" : "virt";
  const args = ["-M", machine, "-accel", "kvm", "-cpu", "host", "-m", "16", "-smp", "1", "-S"];
  args.push("-nodefaults", "-no-user-config", "-display", "none", "-qmp", "stdio");
  const qmp = ["qmp_capabilities", "query-status", "quit"].map((c) => JSON.stringify({ execute: c }));
  const run = spawnSync(options.qemuBinary, args, {
    input: `${qmp.join("\n")}\n`,
    timeout: options.timeoutMs ?? 10_000,
    encoding: "utf8",
    maxBuffer: 1024 * 1024,
  });
  if (run.error !== undefined)
    return { usable: false, reason: `QEMU could not be run: ${run.error.message}` };
  if (run.status === 0) return { usable: true };
  const said = run.stderr.trim().split("\n").slice(0, 3).join(" | ").slice(0, 500);
  const how = run.signal !== null ? `signal ${run.signal}` : `code ${run.status ?? "?"}`;
  return {
    usable: false,
    reason: `QEMU cannot run a KVM vCPU here (exited with ${how}: ${said || "no message"})`,
  };
}

/** What the answer depends on: this boot of the host, the device node and the QEMU binary. */
function probeKey(options: KvmProbeOptions): string {
  const device = statSync(options.device ?? "/dev/kvm");
  const qemu = statSync(options.qemuBinary);
  let boot = "unknown";
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return [boot, device.rdev, device.ino, device.ctimeMs, options.qemuBinary, qemu.size, qemu.mtimeMs].join(
    ":",
  );
}

function readCache(file: string, key: string): KvmProbeResult | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined; // a torn or foreign file: probe again
    throw err;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const entry = parsed as { key?: unknown; usable?: unknown; reason?: unknown };
  if (entry.key !== key || typeof entry.usable !== "boolean") return undefined;
  return typeof entry.reason === "string"
    ? { usable: entry.usable, reason: entry.reason }
    : { usable: entry.usable };
}

/** Written to a temporary name and renamed: a reader sees the old answer or the new one, never half. */
function writeCache(file: string, key: string, result: KvmProbeResult): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ key, ...result }));
  renameSync(tmp, file);
}
