/**
 * Metrics benchmarks: the idle supervisor's CPU with the background metrics sample on (every second, the
 * default) against off (`MSB_METRICS_INTERVAL_MS=0`), two idle sandboxes measured over the same window (goal:
 * at most 0.5% of a core); the QEMU CPU the sampling costs the guest; and the cost of one `sandbox.metrics()`
 * call (wall time, and supervisor CPU per call).
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
// The built package, as users run it.
import { Sandbox } from "../dist/index.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import type { BenchResult } from "./result.js";
import { median } from "./result.js";

const WINDOW_MS = 20_000;
const CALLS = 50;
/** `USER_HZ`: clock ticks per second in `/proc/<pid>/stat`. */
const HZ = 100;

/** CPU time (user + system) of a process, in ms. */
function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text
    .slice(text.lastIndexOf(")") + 1)
    .trim()
    .split(/\s+/);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / HZ;
}

async function createWith(name: string, intervalMs: string): Promise<Sandbox> {
  const saved = process.env["MSB_METRICS_INTERVAL_MS"];
  process.env["MSB_METRICS_INTERVAL_MS"] = intervalMs; // read by the supervisor when it starts
  try {
    return await Sandbox.create({ name, image: "alpine:latest" });
  } finally {
    if (saved === undefined) Reflect.deleteProperty(process.env, "MSB_METRICS_INTERVAL_MS");
    else process.env["MSB_METRICS_INTERVAL_MS"] = saved;
  }
}

/** Runs the metrics benchmarks. */
export async function benchMetrics(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const on = await createWith("sampling-on", "1000");
  const off = await createWith("sampling-off", "0");
  try {
    const pids = async (name: string): Promise<{ supervisor: number; qemu: number }> => {
      const record = (await Sandbox.get(name)).record;
      return { supervisor: record.supervisorPid ?? 0, qemu: record.qemuPid ?? 0 };
    };
    const onPids = await pids("sampling-on");
    const offPids = await pids("sampling-off");
    await sleep(3000); // let both settle after boot
    const before = [onPids.supervisor, onPids.qemu, offPids.supervisor, offPids.qemu].map(cpuMs);
    const started = performance.now();
    await sleep(WINDOW_MS);
    const elapsed = performance.now() - started;
    const after = [onPids.supervisor, onPids.qemu, offPids.supervisor, offPids.qemu].map(cpuMs);
    const percent = (i: number): number => (((after[i] ?? 0) - (before[i] ?? 0)) / elapsed) * 100;
    const [supOn, qemuOn, supOff, qemuOff] = [percent(0), percent(1), percent(2), percent(3)];

    await on.metrics(); // warm: the connection and the code paths
    const latencies: number[] = [];
    const cpuBefore = cpuMs(onPids.supervisor);
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await on.metrics();
      latencies.push(performance.now() - t);
    }
    const cpuPerCall = (cpuMs(onPids.supervisor) - cpuBefore) / CALLS;
    const firstOff = performance.now();
    await off.metrics();
    const firstOffMs = performance.now() - firstOff;

    const window = `${WINDOW_MS / 1000} s window, both idle sandboxes measured at once (home ${env.home})`;
    return [
      {
        name: "metrics.idle-supervisor-cpu-sampling-on-vs-off",
        value: supOn,
        unit: "% core",
        baseline: supOff,
        ratio: supOff > 0 ? supOn / supOff : Number.NaN,
        note: `on ${supOn.toFixed(3)}%, off ${supOff.toFixed(3)}%; ${window}; goal <= 0.5% of a core with sampling on`,
      },
      {
        name: "metrics.idle-qemu-cpu-sampling-on-vs-off",
        value: qemuOn,
        unit: "% core",
        baseline: qemuOff,
        ratio: qemuOff > 0 ? qemuOn / qemuOff : Number.NaN,
        note: "the guest's side of the 1 s sample",
      },
      {
        name: "metrics.call-latency",
        value: median(latencies),
        unit: "ms",
        note: `median of ${CALLS} sandbox.metrics() calls with a background baseline`,
      },
      {
        name: "metrics.call-supervisor-cpu",
        value: cpuPerCall,
        unit: "ms CPU",
        note: `supervisor CPU per call over ${CALLS} calls (10 ms tick resolution, averaged)`,
      },
      {
        name: "metrics.first-call-without-sampling",
        value: firstOffMs,
        unit: "ms",
        note: "no background baseline: the call samples over a 250 ms first interval",
      },
    ];
  } finally {
    await on.stopAndWait();
    await off.stopAndWait();
  }
}
