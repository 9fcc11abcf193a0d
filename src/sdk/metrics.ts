/**
 * Sandbox metrics, as the seed's `SandboxMetrics`: asked of the sandbox's supervisor (`sup.metrics`), which
 * samples the host's and the guest's counters (see `supervisor/metrics-sampler.ts` for which view each figure
 * takes). Nothing is stored: a sandbox that is not running has no metrics, and asking is an
 * {@link InvalidStateError}.
 */
import { readEnv } from "../config/env.js";
import { InvalidStateError } from "../errors.js";
import type { SupMetricsResult } from "../protocol/messages.js";
import type { SandboxRecord } from "../store/sandbox-repository.js";
import { SupervisorConnection } from "./connection.js";
import { withStore } from "./sandbox-handle.js";

/** One sample of a running sandbox's resource use. */
export interface SandboxMetrics {
  /** QEMU's host CPU time over the last interval, in percent of one core (above 100 with several vCPUs busy). */
  readonly cpuPercent: number;
  /** The guest's own view of its CPU use over the same interval, in percent of one core. */
  readonly guestCpuPercent: number;
  /** Memory the guest uses (`MemTotal - MemAvailable`), at most `memoryLimitBytes`. */
  readonly memoryBytes: number;
  /** The sandbox's memory (`memoryMib`). */
  readonly memoryLimitBytes: number;
  /** QEMU's resident memory on the host (guest pages once touched stay resident). */
  readonly memoryHostResidentBytes: number;
  /** Bytes read from the root disk image since boot. */
  readonly diskReadBytes: number;
  /** Bytes written to the root disk image since boot. */
  readonly diskWriteBytes: number;
  /** Bytes the network delivered to the guest since boot (Ethernet frames). */
  readonly netRxBytes: number;
  /** Bytes the guest sent since boot (Ethernet frames). */
  readonly netTxBytes: number;
  /** Milliseconds since the VM started. */
  readonly uptimeMs: number;
  /** When the sample was taken, in ms since the epoch. */
  readonly timestampMs: number;
}

/** The metrics of the sandbox behind `connection`. */
export async function metricsOver(connection: SupervisorConnection): Promise<SandboxMetrics> {
  const reply = await connection.call({ type: "sup.metrics" });
  if (reply.type !== "sup.metrics.result")
    throw new InvalidStateError(`unexpected metrics reply ${reply.type}`);
  return toSandboxMetrics(reply);
}

function toSandboxMetrics(reply: SupMetricsResult): SandboxMetrics {
  return {
    cpuPercent: reply.cpuPercent,
    guestCpuPercent: reply.guestCpuPercent,
    memoryBytes: reply.memoryBytes,
    memoryLimitBytes: reply.memoryLimitBytes,
    memoryHostResidentBytes: reply.memoryHostResidentBytes,
    diskReadBytes: reply.diskReadBytes,
    diskWriteBytes: reply.diskWriteBytes,
    netRxBytes: reply.netRxBytes,
    netTxBytes: reply.netTxBytes,
    uptimeMs: reply.uptimeMs,
    timestampMs: reply.timestampMs,
  };
}

/** The error for metrics of a sandbox that does not run. */
export function notRunningError(name: string, status: string): InvalidStateError {
  return new InvalidStateError(`sandbox ${name} is ${status}: only a running sandbox has metrics`, {
    hint: "start it first; metrics are sampled live, never stored",
  });
}

/** The metrics of the sandbox of `record` (connects to its supervisor for the one call). */
export async function metricsOfRecord(record: SandboxRecord): Promise<SandboxMetrics> {
  if (record.status !== "running" && record.status !== "draining") {
    throw notRunningError(record.name, record.status);
  }
  const connection = await SupervisorConnection.open(record.runDir);
  try {
    return await metricsOver(connection);
  } finally {
    connection.close();
  }
}

/**
 * The metrics of every running sandbox, by name. A sandbox that stops while it is asked is left out; any other
 * failure rejects.
 */
export async function allSandboxMetrics(): Promise<Record<string, SandboxMetrics>> {
  await Promise.resolve();
  const home = readEnv().home;
  const records = withStore(home, (store) => store.sandboxes.list()).filter(
    (r) => r.status === "running" || r.status === "draining",
  );
  const entries = await Promise.all(
    records.map(async (record): Promise<[string, SandboxMetrics] | undefined> => {
      try {
        return [record.name, await metricsOfRecord(record)];
      } catch (err) {
        if (stoppedMeanwhile(home, record.name)) return undefined;
        throw err;
      }
    }),
  );
  return Object.fromEntries(entries.filter((e) => e !== undefined));
}

function stoppedMeanwhile(home: string, name: string): boolean {
  const now = withStore(home, (store) => store.sandboxes.get(name));
  return now === undefined || (now.status !== "running" && now.status !== "draining");
}
