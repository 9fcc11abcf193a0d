/**
 * `Sandbox.list()` with 1,000 rows (inserted through the store into a temporary MSB_HOME, no VMs): time per call
 * without a filter, with a label filter run in SQL (what `list({ labels })` does), and the same filter applied in
 * memory to the full list, which is what the SQL path was chosen over.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The built package, as users run it.
import { Sandbox } from "../dist/index.js";
import { msbPaths } from "../src/config/paths.js";
import { Store } from "../src/store/store.js";
import type { BenchResult } from "./result.js";
import { median } from "./result.js";

const ROWS = 1_000;
const CALLS = 40;
/** One row in ten carries `tier=web`. */
const MATCHING = ROWS / 10;

/** Median ms per call of each runner, the runners taking turns (so a noisy phase slows all of them alike). */
async function timeInTurns(runs: readonly (() => Promise<unknown>)[]): Promise<number[]> {
  for (const run of runs) await run(); // warm: statements prepared, pages cached, code compiled
  const times = runs.map((): number[] => []);
  for (let i = 0; i < CALLS; i++) {
    for (const [k, run] of runs.entries()) {
      const started = performance.now();
      await run();
      times[k]?.push(performance.now() - started);
    }
  }
  return times.map((t) => median(t));
}

function seed(home: string): void {
  using store = Store.open({ path: msbPaths(home).database });
  for (let i = 0; i < ROWS; i++) {
    const name = `sb-${String(i).padStart(4, "0")}`;
    store.sandboxes.insert({
      name,
      id: `id${i}`,
      configJson: JSON.stringify({ name, image: "alpine:latest", memoryMib: 512, env: { A: "1", B: "2" } }),
      image: "alpine:latest",
      imageDigest: `sha256:${"a".repeat(64)}`,
      labels: { tier: i % 10 === 0 ? "web" : "batch", team: `t${i % 7}`, idx: String(i) },
      runDir: join(home, "run", `id${i}`),
      ownerPid: undefined,
      detached: true,
    });
    store.sandboxes.setStatus(name, i % 2 === 0 ? "stopped" : "crashed", { exitReason: "bench" });
  }
}

/** Runs the list benchmark. */
export async function benchList(): Promise<BenchResult[]> {
  const home = mkdtempSync(join(tmpdir(), "msb-bench-list-"));
  const saved = process.env["MSB_HOME"];
  process.env["MSB_HOME"] = home;
  try {
    seed(home);
    const all = await Sandbox.list();
    const web = await Sandbox.list({ labels: { tier: "web" } });
    if (all.length !== ROWS || web.length !== MATCHING)
      throw new Error(`listed ${all.length} rows and ${web.length} matches`);
    const [plain = 0, sql = 0, memory = 0] = await timeInTurns([
      () => Sandbox.list(),
      () => Sandbox.list({ labels: { tier: "web" } }),
      async () => (await Sandbox.list()).filter((s) => s.labels["tier"] === "web"),
    ]);
    const note = `${ROWS} rows, ${MATCHING} match; median of ${CALLS} calls each, in turns`;
    return [
      { name: "list.1000-rows", value: plain, unit: "ms", note },
      {
        name: "list.1000-rows-label-filter-vs-none",
        value: sql,
        unit: "ms",
        baseline: plain,
        ratio: sql / plain,
        note: `${note}; filter in SQL (json_each)`,
      },
      {
        name: "list.1000-rows-label-filter-sql-vs-in-memory",
        value: sql,
        unit: "ms",
        baseline: memory,
        ratio: sql / memory,
        note: "in memory: list() then Array.filter",
      },
    ];
  } finally {
    if (saved === undefined) Reflect.deleteProperty(process.env, "MSB_HOME");
    else process.env["MSB_HOME"] = saved;
    rmSync(home, { recursive: true, force: true });
  }
}
