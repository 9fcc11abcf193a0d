/**
 * `npm run bench [-- --json] [-- --only boot,image]`: runs every benchmark (but the opt-in `kernel`) and prints
 * one line per figure, or a JSON array of {@link BenchResult} with `--json`.
 */
import { benchBoot } from "./boot.js";
import { benchCreator } from "./creator.js";
import { benchExec } from "./exec.js";
import { benchFs } from "./fs.js";
import { benchImage } from "./image.js";
import { benchKernel } from "./kernel.js";
import { benchLifecycle } from "./lifecycle.js";
import { benchMetrics } from "./metrics.js";
import { benchList } from "./list.js";
import { benchSandbox } from "./sandbox.js";
import { benchStartup } from "./startup.js";
import { benchNet } from "./net.js";
import { benchStorage } from "./storage.js";
import { benchTcgGuest } from "./tcg-guest.js";
import { benchTls } from "./tls.js";
import type { BenchResult } from "./result.js";
import { readEnv } from "../src/config/env.js";
import { RuntimeNotInstalledError } from "../src/errors.js";
import { runtimeArtifacts } from "../src/setup/artifacts.js";

const suites: Record<string, () => Promise<BenchResult[]>> = {
  boot: benchBoot,
  kernel: benchKernel,
  image: benchImage,
  sandbox: benchSandbox,
  creator: benchCreator,
  startup: benchStartup,
  lifecycle: benchLifecycle,
  exec: benchExec,
  fs: benchFs,
  net: benchNet,
  metrics: benchMetrics,
  list: benchList,
  storage: benchStorage,
  tcg: benchTcgGuest,
  tls: benchTls,
};

const args = process.argv.slice(2);
const json = args.includes("--json");
const onlyIndex = args.indexOf("--only");
/** Suites a plain `npm run bench` leaves out: `kernel` needs `msb setup --kernel microvm` (a long build) first. */
const OPT_IN = new Set(["kernel"]);
const only =
  onlyIndex >= 0
    ? (args[onlyIndex + 1] ?? "").split(",")
    : Object.keys(suites).filter((name) => !OPT_IN.has(name));
if (onlyIndex < 0 && !json) {
  process.stderr.write(`not run by default: ${[...OPT_IN].join(", ")} (ask with --only)\n`);
}

/** Which guest kernel the figures are of (`msb setup --kernel debian|microvm` switches it): said on stderr. */
function describeRuntime(): string {
  try {
    const artifacts = runtimeArtifacts({ home: readEnv().home });
    return `guest kernel ${artifacts.kernelVersion} (${artifacts.kernelFlavor}), QEMU ${artifacts.qemuBinary}`;
  } catch (err) {
    if (err instanceof RuntimeNotInstalledError) return `runtime not installed: ${err.message}`;
    throw err;
  }
}
process.stderr.write(`${describeRuntime()}\n`);

const results: BenchResult[] = [];
for (const name of only) {
  const suite = suites[name];
  if (!suite) throw new Error(`unknown benchmark suite ${name}; known: ${Object.keys(suites).join(", ")}`);
  if (!json) process.stderr.write(`running ${name}...\n`);
  results.push(...(await suite()));
}

if (json) {
  process.stdout.write(JSON.stringify(results, null, 2) + "\n");
} else {
  for (const r of results) {
    const vs =
      r.baseline === undefined
        ? ""
        : `  baseline ${r.baseline.toFixed(1)} ${r.unit}  ratio ${r.ratio?.toFixed(2)}`;
    process.stdout.write(
      `${r.name.padEnd(44)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${vs}${r.note ? `  (${r.note})` : ""}\n`,
    );
  }
}
