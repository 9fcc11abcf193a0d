/**
 * Lifecycle benchmark: `Sandbox.start()` of a stopped sandbox (its own disk, no pull, no overlay to make) to the
 * first `shell("true")` result, against a cold `Sandbox.create()` of the same image (cached), in alternating runs.
 */
// The built package, as users run it.
import { Sandbox } from "../dist/index.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 5;

async function timeToFirstShell(boot: () => Promise<Sandbox>): Promise<number> {
  const started = performance.now();
  const sandbox = await boot();
  await sandbox.shell("true");
  const elapsed = performance.now() - started;
  await sandbox.stopAndWait();
  return elapsed;
}

/** Runs the lifecycle benchmarks. */
export async function benchLifecycle(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const starts: number[] = [];
  const creates: number[] = [];
  try {
    // Warm-up: pulls the image, builds its root disk, and leaves a stopped sandbox to start again.
    await (await Sandbox.create({ name: "again", image: "alpine:latest" })).stopAndWait();
    for (let i = 0; i < RUNS; i++) {
      creates.push(
        await timeToFirstShell(() => Sandbox.create({ name: `cold-${i}`, image: "alpine:latest" })),
      );
      starts.push(await timeToFirstShell(() => Sandbox.start("again")));
    }
    return [
      {
        name: "lifecycle.start-stopped-vs-cold-create",
        value: median(starts),
        unit: "ms",
        baseline: median(creates),
        ratio: pairedRatio(starts, creates),
        note: `${RUNS} alternating runs to the first shell("true"), medians; image cached (home ${env.home})`,
      },
    ];
  } finally {
    for (const info of await Sandbox.list())
      await (await Sandbox.get(info.name)).remove().catch(() => undefined);
  }
}
