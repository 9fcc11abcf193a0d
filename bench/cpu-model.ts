/**
 * CPU model benchmark (TCG only): guest memory traffic under the CPU model sandboxes run with (`max` without the
 * fast-string bits, see `tcgCpuModel` in `src/vm/argv.ts`) against plain `max`, in bare QEMU boots of the same
 * kernel, alternating. The guest times itself (`/proc/uptime`): 256 MiB from /dev/zero to /dev/null (the kernel
 * copying to user memory) and 64 MiB into a tmpfs file (pages cleared, then copied from user memory).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeArtifacts } from "../src/setup/index.js";
import { hostAccelerator } from "../src/vm/accel.js";
import { bareArgv, bareInitrd } from "./boot.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 5;
const BOOT_TIMEOUT_MS = 60_000;
const BASELINE_MODEL = "max";

/** The guest's script: three uptime stamps around the two workloads, one per line after the marker. */
const SCRIPT = [
  "/bin/busybox mount -t devtmpfs dev /dev",
  "/bin/busybox mkdir -p /proc /scratch",
  "/bin/busybox mount -t proc proc /proc",
  "/bin/busybox mount -t tmpfs scratch /scratch",
  "echo STAMPS",
  "/bin/busybox cut -d' ' -f1 /proc/uptime",
  "/bin/busybox dd if=/dev/zero of=/dev/null bs=1M count=256 2>/dev/null",
  "/bin/busybox cut -d' ' -f1 /proc/uptime",
  "/bin/busybox dd if=/dev/zero of=/scratch/file bs=1M count=64 2>/dev/null",
  "/bin/busybox cut -d' ' -f1 /proc/uptime",
  "/bin/busybox reboot -f",
  "",
].join("\n");

interface Spans {
  readonly copyMs: number;
  readonly tmpfsMs: number;
}

/** `argv` with its `-cpu` value replaced by `model` (or as it is, for `undefined`). */
function withCpu(argv: readonly string[], model: string | undefined): string[] {
  const at = argv.indexOf("-cpu");
  if (at < 0) throw new Error("no -cpu in the bare argv");
  return model === undefined ? [...argv] : argv.map((arg, i) => (i === at + 1 ? model : arg));
}

/** Boots bare QEMU with `argv` and reads the guest's own timings from its console. */
async function guestSpans(argv: readonly string[]): Promise<Spans> {
  const child = spawn(runtimeArtifacts().qemuBinary, argv, { stdio: ["ignore", "pipe", "inherit"] });
  const timer = setTimeout(() => child.kill("SIGKILL"), BOOT_TIMEOUT_MS);
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out = (out + chunk.toString("utf8")).slice(-8192);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  const stamps = (out.split("STAMPS")[1] ?? "").match(/\d+\.\d+/g)?.map(Number) ?? [];
  const [start, copied, written] = stamps;
  if (code !== 0 || start === undefined || copied === undefined || written === undefined) {
    throw new Error(`bare QEMU exited with ${code} without the guest's timings: ${out.slice(-500)}`);
  }
  return { copyMs: (copied - start) * 1000, tmpfsMs: (written - copied) * 1000 };
}

/** Runs the CPU model benchmark; nothing to compare under KVM (guests run the host's model). */
export async function benchCpuModel(): Promise<BenchResult[]> {
  if (hostAccelerator() !== "tcg") {
    process.stderr.write("cpu-model: not under TCG (guests run -cpu host): nothing to compare\n");
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), "msb-bench-cpu-"));
  try {
    const argv = bareArgv(dir, bareInitrd(dir, SCRIPT, "cpu-model.cpio"));
    const ourModel = argv[argv.indexOf("-cpu") + 1] ?? "?";
    const ours: Spans[] = [];
    const base: Spans[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await guestSpans(withCpu(argv, undefined)));
      base.push(await guestSpans(withCpu(argv, BASELINE_MODEL)));
    }
    const note = `-cpu ${ourModel} against -cpu ${BASELINE_MODEL}, ${RUNS} alternating bare boots, guest-timed (10 ms ticks); medians`;
    const figure = (name: string, pick: (s: Spans) => number): BenchResult => ({
      name,
      value: median(ours.map(pick)),
      unit: "ms",
      baseline: median(base.map(pick)),
      ratio: pairedRatio(ours.map(pick), base.map(pick)),
      note,
    });
    return [
      figure("cpu-model.guest-copy-256MiB-vs-max", (s) => s.copyMs),
      figure("cpu-model.guest-tmpfs-write-64MiB-vs-max", (s) => s.tmpfsMs),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
