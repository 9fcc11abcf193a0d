import { describe, expect, it } from "vitest";
import { InvalidStateError } from "../errors.js";
import type { GuestMetricsResult } from "../protocol/messages.js";
import { MetricsSampler } from "./metrics-sampler.js";
import type { MetricsSources } from "./metrics-sampler.js";

const MIB = 1024 * 1024;

/** A fake sandbox whose counters the test moves. */
function fakeSources(): MetricsSources & { ticks: number; guestBusy: number; memAvailableKb: number } {
  const state = {
    ticks: 0,
    guestBusy: 0,
    memAvailableKb: 400 * 1024,
    qemuPid: 4242,
    memoryLimitBytes: 512 * MIB,
    startedAtMs: Date.now() - 5000,
    guest(): Promise<GuestMetricsResult> {
      return Promise.resolve({
        type: "metrics.result",
        stat: `cpu  ${state.guestBusy} 0 0 1000 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0\n`,
        meminfo: `MemTotal: ${512 * 1024} kB\nMemAvailable: ${state.memAvailableKb} kB\n`,
        diskstats: " 253 0 vda 1 0 8 0 1 0 16 0 0 0 0 0 0 0\n",
        netDev: "Inter-|\n face |bytes\n",
      });
    },
    blockstats: () => Promise.resolve([{ stats: { rd_bytes: 100, wr_bytes: 200 } }]),
    network: () => ({ rxBytes: 7, txBytes: 9 }),
    readHostFile: (path: string): string => {
      if (path.endsWith("/stat")) return `4242 (qemu) S ${"0 ".repeat(10)}${state.ticks} 0 0 0`;
      return "VmRSS:\t 1024 kB\n";
    },
  };
  return state;
}

describe("MetricsSampler", () => {
  it("computes CPU over a short first interval, then against the previous sample", async () => {
    const sources = fakeSources();
    const sampler = new MetricsSampler(sources, { intervalMs: 0 });
    const first = sampler.sample();
    await new Promise((r) => setTimeout(r, 50));
    sources.ticks = 25; // 0.25 s of CPU during the first interval (at least 0.25 s)
    sources.guestBusy = 500;
    const m = await first;
    expect(m.cpuPercent).toBeGreaterThan(50);
    expect(m.cpuPercent).toBeLessThanOrEqual(100);
    expect(m.guestCpuPercent).toBe(100); // 500 busy ticks, no idle ones
    expect(m.memoryBytes).toBe(112 * MIB);
    expect(m.memoryLimitBytes).toBe(512 * MIB);
    expect(m.memoryHostResidentBytes).toBe(MIB);
    expect([m.diskReadBytes, m.diskWriteBytes, m.netRxBytes, m.netTxBytes]).toEqual([100, 200, 7, 9]);
    expect(m.uptimeMs).toBeGreaterThanOrEqual(5000);
    // The next call 150 ms later uses the last sample as its baseline: no CPU used since.
    await new Promise((r) => setTimeout(r, 150));
    const started = performance.now();
    const idle = await sampler.sample();
    expect(performance.now() - started).toBeLessThan(100);
    expect(idle.cpuPercent).toBe(0);
  });

  it("clamps a guest's claimed memory to the limit and falls back to diskstats without QMP", async () => {
    const sources = fakeSources();
    sources.memAvailableKb = 0;
    const sampler = new MetricsSampler(
      {
        ...sources,
        guest: () =>
          sources.guest().then((g) => ({
            ...(g as GuestMetricsResult),
            meminfo: `MemTotal: 99999999 kB\nMemAvailable: 0 kB\n`,
          })),
        blockstats: () => Promise.reject(new Error("QMP gone")),
      },
      { intervalMs: 0 },
    );
    const m = await sampler.sample();
    expect(m.memoryBytes).toBe(512 * MIB);
    expect([m.diskReadBytes, m.diskWriteBytes]).toEqual([8 * 512, 16 * 512]);
  });

  it("a stopped sampler or a gone QEMU is an InvalidStateError", async () => {
    const sources = fakeSources();
    const gone = new MetricsSampler(
      {
        ...sources,
        readHostFile: () => {
          throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
        },
      },
      { intervalMs: 0 },
    );
    await expect(gone.sample()).rejects.toBeInstanceOf(InvalidStateError);
    const stopped = new MetricsSampler(sources, { intervalMs: 0 });
    stopped.stop();
    await expect(stopped.sample()).rejects.toBeInstanceOf(InvalidStateError);
  });

  it("samples in the background when an interval is set", async () => {
    const sources = fakeSources();
    const sampler = new MetricsSampler(sources, { intervalMs: 20 });
    sampler.start();
    await new Promise((r) => setTimeout(r, 400));
    const started = performance.now();
    await sampler.sample();
    sampler.stop();
    // No first interval (250 ms) to wait: a background reading is the baseline.
    expect(performance.now() - started).toBeLessThan(240);
  });

  it("ticks only while asked: it stops a linger after the start or the last call, and a call starts it again", async () => {
    const sources = fakeSources();
    let reads = 0;
    const read = sources.readHostFile;
    const counted = { ...sources, readHostFile: (path: string): string => (reads++, read?.(path) ?? "") };
    const sampler = new MetricsSampler(counted, { intervalMs: 20, lingerMs: 300 });
    sampler.start();
    expect(sampler.ticking).toBe(true);
    await new Promise((r) => setTimeout(r, 700));
    expect(sampler.ticking).toBe(false); // nobody asked for 300 ms
    const idleReads = reads;
    await new Promise((r) => setTimeout(r, 200));
    expect(reads).toBe(idleReads); // nothing read while idle
    const started = performance.now();
    await sampler.sample();
    // The readings before the stop are stale: the call measures a first interval of its own.
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(sampler.ticking).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    const again = performance.now();
    await sampler.sample();
    expect(performance.now() - again).toBeLessThan(240); // the tick's readings are the baseline again
    sampler.stop();
    expect(sampler.ticking).toBe(false);
  });
});
