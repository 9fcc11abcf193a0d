/**
 * Sandbox benchmarks: `Sandbox.create()` to the first `shell("true")` result with the image cached, against
 * bare QEMU booting the same kernel (alternating runs); host RSS of the supervisor and QEMU of one idle sandbox.
 * The exec round trip is measured by `bench/exec.ts`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The built package, as users run it: its supervisor is dist/cli/msb.js, not the sources through tsx.
import { Sandbox } from "../dist/index.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import { bareBoot, bareInitrd } from "./boot.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 7;

function rssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) / 1024;
}

/** Runs the sandbox benchmarks. */
export async function benchSandbox(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const scratch = mkdtempSync(join(tmpdir(), "msb-bench-sb-"));
  const initrd = bareInitrd(scratch);
  const bare: number[] = [];
  const ours: number[] = [];
  try {
    // Warm-up: pulls the image and builds its root disk, which the timed runs then find cached.
    await (await Sandbox.create({ name: "warm", image: "alpine:latest" })).stopAndWait();
    for (let i = 0; i < RUNS; i++) {
      bare.push(await bareBoot(scratch, initrd));
      const started = performance.now();
      const sandbox = await Sandbox.create({ name: `run-${i}`, image: "alpine:latest" });
      await sandbox.shell("true");
      ours.push(performance.now() - started);
      await sandbox.stopAndWait();
    }
    const sandbox = await Sandbox.create({ name: "steady", image: "alpine:latest" });
    const handle = await Sandbox.get("steady");
    const supervisor = rssMib(handle.record.supervisorPid ?? 0);
    const qemu = rssMib(handle.record.qemuPid ?? 0);
    await sandbox.stopAndWait();
    const note = `${RUNS} alternating runs, medians; ratio: median of the per-pair ratios; image cached (home ${env.home})`;
    return [
      {
        name: "sandbox.create-to-first-shell-vs-bare-qemu",
        value: median(ours),
        unit: "ms",
        baseline: median(bare),
        ratio: pairedRatio(ours, bare),
        note,
      },
      { name: "sandbox.idle-rss-supervisor", value: supervisor, unit: "MiB" },
      { name: "sandbox.idle-rss-qemu", value: qemu, unit: "MiB" },
    ];
  } finally {
    for (const info of await Sandbox.list())
      await (await Sandbox.get(info.name)).remove().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}
