/**
 * Start-up benchmark: what loading the built package costs a process, against a bare `node` started the same way,
 * in alternating runs: `import` of the ESM entry, `require` of the CommonJS one, and `msb --version` (the CLI's
 * floor: every verb loads as much before it runs). Needs `npm run build` (`npm run bench` does it).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../test/fixtures/artifacts.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 15;

/** Wall milliseconds of `node ...args`, which must exit 0. */
function timeNode(args: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`node ${args.join(" ")} failed: ${result.stderr.toString().slice(-500)}`);
  return ms;
}

/** Runs the start-up benchmark (synchronous runs, in the shape every suite has). */
export function benchStartup(): Promise<BenchResult[]> {
  return Promise.resolve(measureStartup());
}

function measureStartup(): BenchResult[] {
  const dist = join(repoRoot, "dist");
  const cases = [
    {
      name: "startup.import-esm-vs-bare-node",
      args: ["--input-type=module", "-e", `await import(${JSON.stringify(join(dist, "index.js"))})`],
    },
    {
      name: "startup.require-cjs-vs-bare-node",
      args: ["-e", `require(${JSON.stringify(join(dist, "index.cjs"))})`],
    },
    { name: "startup.msb-version-vs-bare-node", args: [join(dist, "cli", "msb.js"), "--version"] },
  ];
  const bare: number[] = [];
  const ours = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeNode(["-e", "0"]));
    cases.forEach((c, at) => ours[at]?.push(timeNode(c.args)));
  }
  return cases.map((c, at) => {
    const runs = ours[at] ?? [];
    return {
      name: c.name,
      value: median(runs),
      unit: "ms",
      baseline: median(bare),
      ratio: pairedRatio(runs, bare),
      note: `${RUNS} alternating runs, process spawn to exit; baseline: node -e 0`,
    };
  });
}
