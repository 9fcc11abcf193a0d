/**
 * TCG guest tuning benchmark (TCG only): what two choices of the guest's set-up under TCG are worth, each against
 * the guest without it, in bare QEMU boots of the same kernel, alternating. The guest times itself
 * (`/proc/uptime`, 10 ms ticks).
 * - The CPU model (`tcgCpuModel` in `src/vm/argv.ts`: `max` without the fast-string bits) against plain `max`:
 *   256 MiB from /dev/zero to /dev/null (the kernel copying to user memory) and 64 MiB into a tmpfs file.
 * - `norandmaps` (`kernelCmdline`) against the kernel's default randomization: 100 runs of a dynamically linked
 *   `/bin/true` (the host's, with its ld.so and libc), which TCG translates again whenever they move.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CpioEntry } from "../src/setup/cpio.js";
import { hostAccelerator } from "../src/vm/accel.js";
import { bareArgv, bareInitrd, bareRun } from "./boot.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 5;
const BASELINE_MODEL = "max";
const EXECS = 100;
/** A dynamically linked program and what it loads, as on a Debian x86-64 host: copied into the initramfs. */
const DYNAMIC_TRUE = ["/bin/true", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"];

/** The guest's script: uptime stamps around each workload, one per line after the marker. */
function script(withExecs: boolean): string {
  const stamp = "/bin/busybox cut -d' ' -f1 /proc/uptime";
  return [
    "/bin/busybox mount -t devtmpfs dev /dev",
    "/bin/busybox mkdir -p /proc /scratch",
    "/bin/busybox mount -t proc proc /proc",
    "/bin/busybox mount -t tmpfs scratch /scratch",
    "echo STAMPS",
    stamp,
    "/bin/busybox dd if=/dev/zero of=/dev/null bs=1M count=256 2>/dev/null",
    stamp,
    "/bin/busybox dd if=/dev/zero of=/scratch/file bs=1M count=64 2>/dev/null",
    stamp,
    ...(withExecs ? [`i=0; while [ $i -lt ${EXECS} ]; do /bin/true; i=$((i+1)); done`, stamp] : []),
    "/bin/busybox reboot -f",
    "",
  ].join("\n");
}

/** The initramfs: busybox running {@link script}, plus the dynamic `/bin/true` when this host has one. */
function initrd(dir: string, withExecs: boolean): string {
  const dynamicTrue: CpioEntry[] = withExecs
    ? [
        ...["lib64", "lib", "lib/x86_64-linux-gnu"].map((path): CpioEntry => ({
          kind: "directory",
          path,
          mode: 0o755,
        })),
        ...DYNAMIC_TRUE.map((file): CpioEntry => ({
          kind: "file",
          path: file.slice(1),
          mode: 0o755,
          data: readFileSync(realpathSync(file)),
        })),
      ]
    : [];
  return bareInitrd(dir, script(withExecs), "tcg-guest.cpio", dynamicTrue);
}

/** Milliseconds of each workload, as the guest timed them. */
type Spans = readonly number[];

/** `argv` with the value of its `option` (`-cpu`, `-append`) changed by `change`. */
function withOption(argv: readonly string[], option: string, change: (value: string) => string): string[] {
  const at = argv.indexOf(option);
  if (at < 0) throw new Error(`the bare argv has no ${option}`);
  return argv.map((arg, i) => (i === at + 1 ? change(arg) : arg));
}

/** A kernel command line without `norandmaps`: the kernel's default randomization. */
function withoutNorandmaps(cmdline: string): string {
  return cmdline
    .split(" ")
    .filter((arg) => arg !== "norandmaps")
    .join(" ");
}

/** Boots bare QEMU with `argv` and reads the guest's own timings from its console. */
async function guestSpans(argv: readonly string[], expected: number): Promise<Spans> {
  const { console: out } = await bareRun(argv, true);
  const stamps = (out.split("STAMPS")[1] ?? "").match(/\d+\.\d+/g)?.map(Number) ?? [];
  if (stamps.length !== expected + 1) throw new Error(`no guest timings on the console: ${out.slice(-500)}`);
  return stamps.slice(1).map((stamp, i) => (stamp - (stamps[i] ?? stamp)) * 1000);
}

/** Runs the TCG guest tuning benchmark; nothing to compare under KVM (guests run the host's CPU model). */
export async function benchTcgGuest(): Promise<BenchResult[]> {
  if (hostAccelerator() !== "tcg") {
    process.stderr.write(
      "tcg: not under TCG (guests run -cpu host, with randomization): nothing to compare\n",
    );
    return [];
  }
  const withExecs = process.arch === "x64" && DYNAMIC_TRUE.every((file) => existsSync(file));
  if (!withExecs)
    process.stderr.write("tcg: no x86-64 glibc /bin/true on this host: randomization not measured\n");
  const dir = mkdtempSync(join(tmpdir(), "msb-bench-tcg-"));
  try {
    const argv = bareArgv(dir, initrd(dir, withExecs));
    const spans = withExecs ? 3 : 2;
    const ours: Spans[] = [];
    const maxCpu: Spans[] = [];
    const randomized: Spans[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await guestSpans(argv, spans));
      maxCpu.push(
        await guestSpans(
          withOption(argv, "-cpu", () => BASELINE_MODEL),
          spans,
        ),
      );
      if (withExecs) randomized.push(await guestSpans(withOption(argv, "-append", withoutNorandmaps), spans));
    }
    const model = argv[argv.indexOf("-cpu") + 1] ?? "?";
    const note = `${RUNS} alternating bare boots, guest-timed (10 ms ticks); medians`;
    const figure = (name: string, span: number, baseline: Spans[], what: string): BenchResult => {
      const pick = (runs: Spans[]): number[] => runs.map((s) => s[span] ?? Number.NaN);
      return {
        name,
        value: median(pick(ours)),
        unit: "ms",
        baseline: median(pick(baseline)),
        ratio: pairedRatio(pick(ours), pick(baseline)),
        note: `${what}; ${note}`,
      };
    };
    const cpuNote = `-cpu ${model} against -cpu ${BASELINE_MODEL}`;
    return [
      figure("tcg.cpu-model-guest-copy-256MiB-vs-max", 0, maxCpu, cpuNote),
      figure("tcg.cpu-model-guest-tmpfs-write-64MiB-vs-max", 1, maxCpu, cpuNote),
      ...(withExecs
        ? [
            figure(
              `tcg.norandmaps-${EXECS}-dynamic-execs-vs-randomized`,
              2,
              randomized,
              "norandmaps against the kernel's default randomization",
            ),
          ]
        : []),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
