/**
 * Boot benchmark: a MicroVm from spawn to the first exec result (agent handshake, modules, root disk mounted),
 * and to QEMU's exit after shutdown, against bare QEMU booting the same kernel with a minimal initramfs whose
 * /init powers off at once. Alternating runs in one process, so both see the same machine load. Plus exec
 * round-trip latency on a running VM.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeArtifacts, hostTscKhz } from "../src/setup/index.js";
import { writeNewcArchive } from "../src/setup/cpio.js";
import type { CpioEntry } from "../src/setup/cpio.js";
import { buildQemuArgv, kernelCmdline } from "../src/vm/argv.js";
import { hostAccelerator } from "../src/vm/accel.js";
import { bootBusyboxVm } from "../test/fixtures/vm-boot.js";
import { artifactDir } from "../test/fixtures/artifacts.js";
import type { KernelFlavor } from "../src/setup/types.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio, percentile } from "./result.js";

const RUNS = 7;
const EXECS = 200;
/** Longest a bare boot may take before it counts as hung. */
const BARE_BOOT_TIMEOUT_MS = 60_000;

/**
 * A minimal initramfs: busybox as /init's interpreter, running `script` (default: end the VM at once), plus
 * `extra` entries. The default restarts rather than powers off: QEMU runs with -no-reboot, so a restart ends it
 * with either kernel, while power-off needs ACPI, which the microvm kernel runs without.
 */
export function bareInitrd(
  dir: string,
  script = "/bin/busybox reboot -f\n",
  name = "bare-initrd.cpio",
  extra: readonly CpioEntry[] = [],
): string {
  const path = join(dir, name);
  const init = `#!/bin/busybox sh\n${script}`;
  writeFileSync(
    path,
    writeNewcArchive([
      { kind: "directory", path: "bin", mode: 0o755 },
      { kind: "directory", path: "dev", mode: 0o755 },
      { kind: "chardev", path: "dev/console", mode: 0o600, major: 5, minor: 1 },
      { kind: "file", path: "bin/busybox", mode: 0o755, data: readFileSync("/bin/busybox") },
      { kind: "file", path: "init", mode: 0o755, data: Buffer.from(init) },
      ...extra,
    ]),
  );
  return path;
}

/** A kernel to boot bare: its file and which kind it is (the microvm kernel runs without ACPI). */
export interface BenchKernel {
  readonly path: string;
  readonly flavor: KernelFlavor;
}

/** QEMU's argument vector for a bare boot of `kernel` (default: the installed one) with `initrd`, 1 CPU, 512 MiB. */
export function bareArgv(dir: string, initrd: string, kernel?: BenchKernel): string[] {
  const artifacts = runtimeArtifacts();
  const accel = hostAccelerator();
  return buildQemuArgv({
    arch: artifacts.arch,
    accel,
    cpus: 1,
    memoryMib: 512,
    kernel: kernel?.path ?? artifacts.kernel,
    initrd,
    cmdline: kernelCmdline({
      arch: artifacts.arch,
      accel,
      tscKhz: hostTscKhz(),
      kernelFlavor: kernel?.flavor ?? artifacts.kernelFlavor,
    }),
    disks: [],
    shares: [],
    agentSocket: join(dir, "a.sock"),
    qmpSocket: join(dir, "q.sock"),
    consoleLog: join(dir, "bare-console.log"),
    network: { kind: "none" },
    acpi: (kernel?.flavor ?? artifacts.kernelFlavor) !== "microvm",
  });
}

/** Milliseconds for bare QEMU to boot `kernel` (default: the installed one) into the minimal init and exit. */
export async function bareBoot(dir: string, initrd: string, kernel?: BenchKernel): Promise<number> {
  return (await bareRun(bareArgv(dir, initrd, kernel), false)).ms;
}

/**
 * Runs bare QEMU with `argv` until it exits: its wall time, and its console (the last 8 KiB) when
 * `captureConsole`. A guest that never ends the VM (say, a kernel that halts instead) fails the run instead of
 * hanging it.
 */
export async function bareRun(
  argv: readonly string[],
  captureConsole: boolean,
): Promise<{ ms: number; console: string }> {
  const started = performance.now();
  const child = spawn(runtimeArtifacts().qemuBinary, argv, {
    stdio: ["ignore", captureConsole ? "pipe" : "ignore", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out = (out + chunk.toString("utf8")).slice(-8192);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), BARE_BOOT_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  if (code !== 0) {
    const said = out === "" ? "" : `: ${out.slice(-500)}`;
    throw new Error(`bare QEMU exited with ${code} (killed after ${BARE_BOOT_TIMEOUT_MS} ms?)${said}`);
  }
  return { ms: performance.now() - started, console: out };
}

/** Milliseconds to boot a MicroVm and get the first exec result, and to have QEMU gone after shutdown. */
async function ourBoot(): Promise<{ ready: number; total: number }> {
  const runDir = mkdtempSync(join(artifactDir("bench"), "boot-"));
  try {
    const started = performance.now();
    const vm = await bootBusyboxVm(runDir);
    await vm.exec({ argv: ["true"] });
    const ready = performance.now() - started;
    await vm.shutdown();
    return { ready, total: performance.now() - started };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function execLatency(): Promise<number[]> {
  const runDir = mkdtempSync(join(artifactDir("bench"), "exec-"));
  const vm = await bootBusyboxVm(runDir);
  try {
    const samples: number[] = [];
    for (let i = 0; i < EXECS; i++) {
      const started = performance.now();
      await vm.exec({ argv: ["true"] });
      samples.push(performance.now() - started);
    }
    return samples;
  } finally {
    await vm.shutdown();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Runs the boot benchmarks. */
export async function benchBoot(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "msb-bench-"));
  try {
    const initrd = bareInitrd(dir);
    const bare: number[] = [];
    const ready: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(await bareBoot(dir, initrd));
      const ours = await ourBoot();
      ready.push(ours.ready);
      total.push(ours.total);
    }
    const bareMs = median(bare);
    const execs = await execLatency();
    const accel = hostAccelerator();
    const note = `${RUNS} alternating runs, medians; ratio: median of the per-pair ratios; accel=${accel}`;
    return [
      { name: "boot.bare-qemu-to-exit", value: bareMs, unit: "ms", note },
      {
        name: "boot.first-exec-vs-bare-qemu",
        value: median(ready),
        unit: "ms",
        baseline: bareMs,
        ratio: pairedRatio(ready, bare),
        note,
      },
      {
        name: "boot.to-exit-after-shutdown-vs-bare-qemu",
        value: median(total),
        unit: "ms",
        baseline: bareMs,
        ratio: pairedRatio(total, bare),
        note,
      },
      {
        name: "exec.round-trip-p50",
        value: percentile(execs, 50),
        unit: "ms",
        note: `${EXECS} execs of true`,
      },
      {
        name: "exec.round-trip-p99",
        value: percentile(execs, 99),
        unit: "ms",
        note: `${EXECS} execs of true`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
