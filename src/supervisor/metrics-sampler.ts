/**
 * The supervisor's metrics sampler. A sample joins the host's view (QEMU's CPU time and resident memory from
 * `/proc/<qemu pid>/stat` and `status`, QMP `query-blockstats`, the network stack's own counters) with the
 * guest's (`/proc/stat`, `/proc/meminfo`, `/proc/diskstats`, `/proc/net/dev` through the agent's `metrics`
 * operation). Which view each figure takes, and why:
 *
 * - `cpuPercent`: QEMU's host CPU time over the interval since an earlier sample, in percent of one core. It is
 *   what the sandbox costs the host (vCPUs, device emulation and, under TCG, the translation), and the guest
 *   cannot lie about it. The guest's own figure is `guestCpuPercent` (since the last full reading).
 * - `memoryBytes`: the guest's `MemTotal - MemAvailable`. QEMU's RSS only grows (guest pages once touched stay
 *   resident: there is no balloon) and counts the page cache, so it is reported apart as
 *   `memoryHostResidentBytes`. A guest claiming more than its limit is clamped to it.
 * - `memoryLimitBytes`: the configured `memoryMib`.
 * - `diskReadBytes`/`diskWriteBytes`: QMP block stats, the bytes QEMU moved to and from the disk image; the
 *   guest's diskstats only when QMP cannot answer.
 * - `netRxBytes`/`netTxBytes`: the network stack's frames to and from the guest (the host relays every byte).
 * - `uptimeMs`: since QEMU was started.
 *
 * Samples live in memory (the last few, for the CPU interval), never in the database. A background tick (every
 * `MSB_METRICS_INTERVAL_MS`, default 1 s) reads QEMU's CPU time, one small host file, so `cpuPercent` covers at
 * most the last interval and a call answers at once; every tenth tick also asks the guest, the baseline of
 * `guestCpuPercent`. The tick runs only while someone asks: from the sandbox's start, and from each call, for
 * {@link DEFAULT_LINGER_MS}; an idle sandbox nobody watches is not woken every second (each wake costs the
 * supervisor, and the guest's every tenth). A call always takes a full reading. Without a baseline (sampling off,
 * the first second, or the first call after the tick stopped) the call samples over a short first interval of
 * its own.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentError, InvalidStateError } from "../errors.js";
import type { NetworkStack } from "../net/stack/network-stack.js";
import type { GuestMetricsResult, SupMetricsResult } from "../protocol/messages.js";
import {
  USER_HZ,
  parseBlockstats,
  parseDiskstats,
  parseGuestCpu,
  parseMeminfo,
  parseNetDev,
  processCpuTicks,
  processRssBytes,
} from "./proc-metrics.js";
import type { GuestCpu, IoBytes, NetBytes } from "./proc-metrics.js";
import type { MicroVm } from "../vm/microvm.js";

/** Where the figures come from (the supervisor wires the VM, its agent and the network stack in). */
export interface MetricsSources {
  readonly qemuPid: number;
  readonly memoryLimitBytes: number;
  /** Wall clock (ms since the epoch) when QEMU was started. */
  readonly startedAtMs: number;
  /** The guest's `/proc` text (the agent's `metrics`), or undefined when the agent lacks the feature. */
  guest(): Promise<GuestMetricsResult | undefined>;
  /** QMP `query-blockstats` (unchecked JSON). */
  blockstats(): Promise<unknown>;
  /** The network stack's byte counters, from the guest's point of view. */
  network(): NetBytes | undefined;
  /** Reads a host `/proc` file (default `readFileSync`; tests replace it). */
  readonly readHostFile?: (path: string) => string;
}

/** How long the background tick goes on after the sampler starts or a call asks for a sample. */
export const DEFAULT_LINGER_MS = 30_000;

/** Options of {@link MetricsSampler}. */
export interface MetricsSamplerOptions {
  /** Period of the background sample; 0 turns it off (each call then samples on its own). */
  readonly intervalMs: number;
  /** The tick stops this long after the start or the last call (default {@link DEFAULT_LINGER_MS}). */
  readonly lingerMs?: number;
  /** Reports a failed background sample (default `process.emitWarning`). */
  readonly warn?: ((message: string) => void) | undefined;
}

/** Shortest interval a CPU percentage is computed over. */
const MIN_INTERVAL_MS = 100;
/** The interval a call waits when no earlier sample is old enough. */
const FIRST_INTERVAL_MS = 250;
/** Readings kept for baselines at most. */
const KEPT = 64;
/** How long a reading waits for the guest's counters. */
const GUEST_TIMEOUT_MS = 5000;
/** Every how many background ticks the guest is asked too (the others read only QEMU's CPU time). */
const FULL_EVERY = 10;

/** QEMU's CPU time at a moment. */
interface CpuReading {
  /** Monotonic clock (ms). */
  readonly at: number;
  readonly qemuTicks: number;
}

/** Every counter at a moment. */
interface Reading extends CpuReading {
  readonly wallMs: number;
  readonly rssBytes: number;
  readonly guestCpu: GuestCpu | undefined;
  readonly guestUsedBytes: number | undefined;
  readonly disk: IoBytes | undefined;
  readonly net: NetBytes | undefined;
}

/** Samples one sandbox's metrics. */
export class MetricsSampler {
  readonly #sources: MetricsSources;
  readonly #options: MetricsSamplerOptions;
  /** Recent readings of QEMU's CPU time (light and full). */
  readonly #recent: CpuReading[] = [];
  /** Recent full readings (the guest's CPU baseline). */
  readonly #recentFull: Reading[] = [];
  #ticks = 0;
  /** When the sampler started or was last asked (monotonic ms): the tick lingers that long after. */
  #askedAt = 0;
  #inFlight: Promise<SupMetricsResult> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(sources: MetricsSources, options: MetricsSamplerOptions) {
    this.#sources = sources;
    this.#options = options;
  }

  /** Starts the background sample for a while (see the module comment; a no-op when the interval is 0). */
  start(): void {
    this.#keepTicking();
  }

  /** The tick goes on (again) for the linger from now. */
  #keepTicking(): void {
    this.#askedAt = performance.now();
    if (this.#options.intervalMs <= 0 || this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => {
      // A reading is all a baseline needs; a call in flight takes one anyway. Most ticks read only QEMU's CPU
      // time (one small /proc file); every FULL_EVERY-th asks the guest too, for its CPU baseline.
      if (this.#inFlight !== undefined) return;
      if (performance.now() - this.#askedAt > (this.#options.lingerMs ?? DEFAULT_LINGER_MS)) {
        this.#disarm();
        return;
      }
      if (this.#ticks++ % FULL_EVERY !== 0) {
        this.#tryLight();
        return;
      }
      this.#read().catch((err: unknown) => {
        if (!this.#stopped) this.#warn(`metrics sample failed: ${(err as Error).message}`);
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  #tryLight(): void {
    try {
      retain(this.#recent, this.#cpuReading());
    } catch (err) {
      if (!this.#stopped) this.#warn(`metrics sample failed: ${(err as Error).message}`);
    }
  }

  #warn(message: string): void {
    if (this.#options.warn) this.#options.warn(message);
    else process.emitWarning(message, { code: "MSB_METRICS" });
  }

  /** Stops the tick; its readings go too (stale: the next call measures a first interval of its own). */
  #disarm(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#recent.length = 0;
    this.#recentFull.length = 0;
    this.#ticks = 0;
  }

  /** Whether the background tick runs now. */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  /** Stops sampling; later calls fail with {@link InvalidStateError}. */
  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  /** A fresh sample (concurrent calls share one); the background tick goes on (again) for a while. */
  sample(): Promise<SupMetricsResult> {
    if (this.#stopped) return Promise.reject(notRunning());
    this.#keepTicking();
    this.#inFlight ??= this.#sample().finally(() => {
      this.#inFlight = undefined;
      this.#askedAt = performance.now(); // the linger counts from the answer
    });
    return this.#inFlight;
  }

  async #sample(): Promise<SupMetricsResult> {
    let baseline = baselineOf(this.#recent, performance.now());
    let guestBase = baselineOf(this.#recentFull, performance.now());
    if (baseline === undefined) {
      baseline = guestBase = await this.#read();
      await sleep(FIRST_INTERVAL_MS);
    }
    const now = await this.#read();
    return this.#result(now, baseline, guestBase);
  }

  /** QEMU's CPU time now. */
  #cpuReading(): CpuReading {
    const text = this.#readHost(`/proc/${this.#sources.qemuPid}/stat`);
    return { at: performance.now(), qemuTicks: processCpuTicks(text) ?? 0 };
  }

  #readHost(path: string): string {
    const read = this.#sources.readHostFile ?? ((p: string) => readFileSync(p, "utf8"));
    try {
      return read(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw notRunning();
      throw err;
    }
  }

  async #read(): Promise<Reading> {
    const sources = this.#sources;
    const [guest, blocks] = await Promise.all([
      sources.guest(),
      // QMP busy (a quit in progress) or gone: the guest's diskstats stand in.
      sources.blockstats().then(parseBlockstats, () => undefined),
    ]);
    if (this.#stopped) throw notRunning();
    const reading: Reading = {
      ...this.#cpuReading(),
      wallMs: Date.now(),
      rssBytes: processRssBytes(this.#readHost(`/proc/${sources.qemuPid}/status`)) ?? 0,
      guestCpu: guest === undefined ? undefined : parseGuestCpu(guest.stat),
      guestUsedBytes: guest === undefined ? undefined : parseMeminfo(guest.meminfo)?.usedBytes,
      disk: blocks ?? (guest === undefined ? undefined : parseDiskstats(guest.diskstats)),
      net: sources.network() ?? (guest === undefined ? undefined : parseNetDev(guest.netDev)),
    };
    retain(this.#recent, reading);
    retain(this.#recentFull, reading);
    return reading;
  }

  #result(now: Reading, base: CpuReading, guestBase: Reading | undefined): SupMetricsResult {
    const limit = this.#sources.memoryLimitBytes;
    const seconds = Math.max(now.at - base.at, 1) / 1000;
    const ticks = Math.max(now.qemuTicks - base.qemuTicks, 0);
    return {
      type: "sup.metrics.result",
      cpuPercent: round2((ticks / USER_HZ / seconds) * 100),
      guestCpuPercent: round2(guestPercent(guestBase?.guestCpu, now.guestCpu)),
      memoryBytes: Math.min(now.guestUsedBytes ?? now.rssBytes, limit),
      memoryLimitBytes: limit,
      memoryHostResidentBytes: now.rssBytes,
      diskReadBytes: now.disk?.readBytes ?? 0,
      diskWriteBytes: now.disk?.writeBytes ?? 0,
      netRxBytes: now.net?.rxBytes ?? 0,
      netTxBytes: now.net?.txBytes ?? 0,
      uptimeMs: Math.max(now.wallMs - this.#sources.startedAtMs, 0),
      timestampMs: now.wallMs,
    };
  }
}

/** The newest reading of `list` at least {@link MIN_INTERVAL_MS} older than `at`. */
function baselineOf<T extends CpuReading>(list: readonly T[], at: number): T | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const reading = list[i];
    if (reading !== undefined && at - reading.at >= MIN_INTERVAL_MS) return reading;
  }
  return undefined;
}

/** Adds `reading`, keeping the newest reading old enough to be a baseline and the ones after it. */
function retain<T extends CpuReading>(list: T[], reading: T): void {
  list.push(reading);
  while (list.length > KEPT || (list.length > 1 && reading.at - (list[1]?.at ?? 0) >= MIN_INTERVAL_MS)) {
    list.shift();
  }
}

/** Busy share of the guest's CPUs between two readings, in percent of one core. */
function guestPercent(base: GuestCpu | undefined, now: GuestCpu | undefined): number {
  if (base === undefined || now === undefined) return 0;
  const total = now.totalTicks - base.totalTicks;
  const idle = now.idleTicks - base.idleTicks;
  if (total <= 0 || idle < 0 || idle > total) return 0;
  return ((total - idle) / total) * now.cpus * 100;
}

/** `promise`, or an `AgentError` after `ms` (the promise itself keeps running). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new AgentError("ETIMEDOUT", `${what} within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function round2(n: number): number {
  return Math.min(Math.round(n * 100) / 100, 1e6);
}

function notRunning(): InvalidStateError {
  return new InvalidStateError("the sandbox is not running: it has no metrics", {
    hint: "metrics exist only while the sandbox runs: start it again first",
  });
}

/** A sampler over a booted VM and its network stack. */
export function samplerFor(
  vm: MicroVm,
  net: NetworkStack | undefined,
  options: { readonly memoryMib: number; readonly intervalMs: number },
): MetricsSampler {
  const startedAtMs = Date.now() - Math.round(vm.bootMs);
  // At most one guest request at a time: a guest that never answers holds one stream, not one per call.
  let pending: Promise<GuestMetricsResult> | undefined;
  const askGuest = async (): Promise<GuestMetricsResult> => {
    const reply = await vm.agent.call(
      { type: "metrics" },
      (r) => new AgentError(r.code, `metrics: ${r.message}`),
    );
    if (reply.type !== "metrics.result") throw new AgentError("EIO", `metrics: unexpected ${reply.type}`);
    return reply;
  };
  return new MetricsSampler(
    {
      qemuPid: vm.pid,
      memoryLimitBytes: options.memoryMib * 1024 * 1024,
      startedAtMs,
      guest: () => {
        if (!vm.agent.hello.features.includes("metrics")) return Promise.resolve(undefined);
        pending ??= askGuest().finally(() => {
          pending = undefined;
        });
        return withTimeout(pending, GUEST_TIMEOUT_MS, "the guest did not answer metrics");
      },
      blockstats: () => vm.query("query-blockstats"),
      network: () => {
        if (net === undefined) return undefined;
        const counters = net.metrics();
        return { rxBytes: counters.bytesIn, txBytes: counters.bytesOut };
      },
    },
    { intervalMs: options.intervalMs },
  );
}
