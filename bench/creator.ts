/**
 * Creator-size benchmark: a create's time to its first `shell("true")`, and the longest stall of the creating
 * process's event loop, when that process holds 1 GiB of memory against when it is small, in alternating child
 * processes (`creator-child.ts`, the built package, templates and spare VMs on). Node's `spawn` forks: it copies
 * the creator's page tables with its event loop stopped, so every supervisor spawn (one a create, the next spare)
 * costs a large process time in proportion to its size.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../test/fixtures/artifacts.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 3;
const CREATES = 8;
const LARGE_MIB = 1024;

interface ChildRun {
  readonly times: number[];
  readonly maxStallMs: number;
  readonly rssMib: number;
}

function runChild(mib: number): ChildRun {
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "bench", "creator-child.ts"), String(mib), String(CREATES)],
    { encoding: "utf8", timeout: 300_000, maxBuffer: 1 << 20 },
  );
  const line = child.stdout.trim().split("\n").at(-1) ?? "";
  if (child.status !== 0 || !line.startsWith("{"))
    throw new Error(`creator child (${mib} MiB) failed: ${child.stderr.slice(-1000)}`);
  return JSON.parse(line) as ChildRun;
}

/** Runs the creator-size benchmark. */
export async function benchCreator(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const small: ChildRun[] = [];
  const large: ChildRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    small.push(runChild(0));
    large.push(runChild(LARGE_MIB));
  }
  const rss = (runs: ChildRun[]): number => median(runs.map((run) => run.rssMib));
  const note = `${RUNS} alternating child processes of ${CREATES} creates each (medians from the third; home ${env.home}); creator RSS ${rss(large).toFixed(0)} against ${rss(small).toFixed(0)} MiB`;
  /** The large creators' figure against the small ones', `pick`ed from each child's run. */
  const figure = (name: string, pick: (run: ChildRun) => number): BenchResult => ({
    name,
    value: median(large.map(pick)),
    unit: "ms",
    baseline: median(small.map(pick)),
    ratio: pairedRatio(large.map(pick), small.map(pick)),
    note,
  });
  return [
    figure("creator.large-process-create-to-first-shell-vs-small", (run) => median(run.times)),
    figure("creator.large-process-longest-event-loop-stall-vs-small", (run) => run.maxStallMs),
  ];
}
