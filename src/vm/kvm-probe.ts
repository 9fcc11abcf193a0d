/**
 * Whether this host's KVM can actually run our guest. An openable `/dev/kvm` is not enough: a nested or
 * paravirtualised KVM (seen: `kvm-pvm` host kernels) opens fine, then either QEMU aborts while setting up the vCPU
 * ("failed to set MSR 0x10a"), or the vCPU runs until the guest kernel executes an instruction the host cannot
 * emulate (seen: `lock cmpxchg16b` early in boot, "KVM internal error"), and the VM stops for good: the sandbox
 * would wait out its whole handshake timeout with an empty console. So the probe boots the installed guest kernel
 * under KVM, without a root disk, on a sandbox's machine and CPU: a kernel that gets as far as its "no root" panic
 * proves KVM runs it. A small Node child watches QEMU's output, so both answers come as soon as they are known
 * (a working KVM: when the kernel reaches its panic; a failure: as soon as QEMU reports it). The answer is cached
 * in a file keyed by the host boot, the device, the QEMU binary and the kernel, so only the first VM after a
 * change pays.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GuestArch } from "../setup/arch.js";

/** What the probe found. */
export interface KvmProbeResult {
  readonly usable: boolean;
  /** Why not, when not usable: what went wrong, with the first line QEMU wrote about it. */
  readonly reason?: string;
  /** QEMU's first lines of stderr, when it wrote more than one (a register dump after a KVM error...). */
  readonly qemuSaid?: string;
}

/** Where and with what to probe. */
export interface KvmProbeOptions {
  readonly qemuBinary: string;
  readonly arch: GuestArch;
  /** The guest kernel sandboxes boot. */
  readonly kernel: string;
  /** The cache file (under `MSB_HOME`). */
  readonly cacheFile: string;
  readonly device?: string;
  /** Bound on a boot that neither succeeds nor fails (seen: Debian's kernel on a kvm-pvm host). Default 15 s. */
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

/** What the guest kernel prints when it booted as far as it can without a root disk. */
const BOOTED = "Kernel panic";

/**
 * What QEMU prints on stderr when KVM stopped the guest for good: the VM then sits in the `internal-error` state,
 * alive but never running again.
 */
const KVM_FAILED = ["KVM internal error", "emulation failure", "KVM: entry failed"];

/** What is wrong when KVM opens but stops the guest; errors add what to do about it. */
export const KVM_CANNOT_RUN_GUEST = "this host's KVM cannot run the guest (a nested or paravirtualised KVM?)";

/** The line of QEMU's `stderr` that says KVM stopped the guest for good, if there is one. */
export function kvmFailureLine(stderr: string): string | undefined {
  if (!KVM_FAILED.some((marker) => stderr.includes(marker))) return undefined;
  return stderr.split("\n").find((line) => KVM_FAILED.some((marker) => line.includes(marker)));
}

/**
 * The watcher: runs QEMU (argv[1], its arguments as JSON in argv[2]), and prints one JSON verdict as soon as the
 * console shows {@link BOOTED}, stderr shows a {@link KVM_FAILED} line, QEMU ends, or argv[3] ms pass; then kills
 * QEMU. Plain JavaScript for `node -e`: it must not depend on this module's build.
 */
const WATCHER = `
const { spawn } = require("node:child_process");
const [bin, argsJson, timeoutMs, booted, failedJson] = process.argv.slice(1);
const failed = JSON.parse(failedJson);
let out = "", err = "", done = false;
const keep = (s) => (s.length > 65536 ? s.slice(-65536) : s);
const q = spawn(bin, JSON.parse(argsJson), { stdio: ["ignore", "pipe", "pipe"] });
const finish = (verdict) => {
  if (done) return;
  done = true;
  q.kill("SIGKILL");
  process.stdout.write(JSON.stringify({ ...verdict, stderr: err.slice(0, 4000), console: out.slice(-1000) }));
  process.exit(0);
};
q.stdout.on("data", (d) => { out = keep(out + d); if (out.includes(booted)) finish({ booted: true }); });
q.stderr.on("data", (d) => { err = keep(err + d); if (failed.some((f) => err.includes(f))) finish({ booted: false, kvmFailed: true }); });
q.on("error", (e) => finish({ booted: false, spawnError: e.message }));
q.on("close", (code, signal) => finish({ booted: false, code, signal }));
setTimeout(() => finish({ booted: false, timedOut: true }), Number(timeoutMs));
`;

/** The watcher's verdict. */
interface Verdict {
  booted: boolean;
  kvmFailed?: boolean;
  timedOut?: boolean;
  spawnError?: string;
  code?: number | null;
  signal?: string | null;
  stderr?: string;
  console?: string;
}

/** QEMU's argv for booting `kernel` under KVM with a sandbox's machine and CPU, no disk, console on stdout. */
export function probeArgv(arch: GuestArch, kernel: string): string[] {
  const x86 = arch === "x86_64";
  const machine = x86 ? "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off" : "virt,gic-version=max";
  const console = x86 ? "console=ttyS0" : "console=ttyAMA0";
  return [
    ...["-M", machine, "-accel", "kvm", "-cpu", "host", "-m", "128", "-smp", "1"],
    ...["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio"],
    ...["-kernel", kernel, "-append", `${console} panic=-1 reboot=t`],
  ];
}

/** Boots the kernel under KVM and reports whether it got as far as its "no root disk" panic. */
export function probeKvm(options: KvmProbeOptions): KvmProbeResult {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const args = [JSON.stringify(probeArgv(options.arch, options.kernel)), String(timeoutMs)];
  const run = spawnSync(
    process.execPath,
    ["-e", WATCHER, options.qemuBinary, ...args, BOOTED, JSON.stringify(KVM_FAILED)],
    { timeout: timeoutMs + 10_000, encoding: "utf8", maxBuffer: 1024 * 1024 },
  );
  if (run.error !== undefined)
    return { usable: false, reason: `the KVM probe could not run: ${run.error.message}` };
  let verdict: Verdict;
  try {
    verdict = JSON.parse(run.stdout) as Verdict;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return {
      usable: false,
      reason: `the KVM probe failed: ${run.stderr.trim().slice(0, 300) || "no verdict"}`,
    };
  }
  if (verdict.booted) return { usable: true };
  const lines = (verdict.stderr ?? "").split("\n").filter((line) => line.trim() !== "");
  const first = (lines[0] ?? "").trim().slice(0, 200);
  let how: string;
  if (verdict.spawnError !== undefined) how = `QEMU could not be run: ${verdict.spawnError}`;
  else if (verdict.kvmFailed === true) how = "KVM stopped the guest kernel while it booted";
  else if (verdict.timedOut === true) how = `the guest kernel did not boot under KVM within ${timeoutMs} ms`;
  else {
    const exit = verdict.signal != null ? `signal ${verdict.signal}` : `code ${verdict.code ?? "?"}`;
    how = `QEMU cannot run a KVM vCPU here (exited with ${exit} before the kernel booted)`;
  }
  return {
    usable: false,
    reason: first === "" ? how : `${how}: ${first}`,
    ...(lines.length > 1 ? { qemuSaid: lines.slice(0, 3).join(" | ").slice(0, 500) } : {}),
  };
}

/** The cached answer's shape: a cache of another version is probed again (2: QEMU's extra lines apart). */
const PROBE_CACHE_VERSION = "v2";

/** What the answer depends on: this boot of the host, the device node, the QEMU binary and the kernel. */
function probeKey(options: KvmProbeOptions): string {
  const device = statSync(options.device ?? "/dev/kvm");
  const qemu = statSync(options.qemuBinary);
  const kernel = statSync(options.kernel);
  let boot = "unknown";
  try {
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return [
    PROBE_CACHE_VERSION,
    boot,
    device.rdev,
    device.ino,
    device.ctimeMs,
    options.qemuBinary,
    qemu.size,
    qemu.mtimeMs,
    options.kernel,
    kernel.size,
    kernel.mtimeMs,
  ].join(":");
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
  const entry = parsed as { key?: unknown; usable?: unknown; reason?: unknown; qemuSaid?: unknown };
  if (entry.key !== key || typeof entry.usable !== "boolean") return undefined;
  return {
    usable: entry.usable,
    ...(typeof entry.reason === "string" ? { reason: entry.reason } : {}),
    ...(typeof entry.qemuSaid === "string" ? { qemuSaid: entry.qemuSaid } : {}),
  };
}

/** Written to a temporary name and renamed: a reader sees the old answer or the new one, never half. */
function writeCache(file: string, key: string, result: KvmProbeResult): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ key, ...result }));
  renameSync(tmp, file);
}
