/**
 * Sandbox metrics, as the seed's `SandboxMetrics`: asked of the sandbox's supervisor (`sup.metrics`), which
 * samples the host's and the guest's counters (see `supervisor/metrics-sampler.ts` for which view each figure
 * takes). Nothing is stored: a sandbox that is not running has no metrics, and asking is an
 * {@link InvalidStateError}.
 */
import { readEnv } from "../config/env.js";
import { InvalidStateError } from "../errors.js";
import type { SupMetricsResult } from "../protocol/messages.js";
import type { SandboxRecord, SandboxStatus } from "../store/sandbox-repository.js";
import { SupervisorConnection } from "./connection.js";
import { withStore } from "./sandbox-handle.js";

/**
 * One sample of a running sandbox's resource use: the supervisor's `sup.metrics.result` without its type (the
 * reply is parsed strictly, so it carries exactly these fields; see `SupMetricsResult` for each one).
 */
export type SandboxMetrics = Omit<SupMetricsResult, "type">;

/** The metrics of the sandbox behind `connection`. */
export async function metricsOver(connection: SupervisorConnection): Promise<SandboxMetrics> {
  const reply = await connection.call({ type: "sup.metrics" });
  if (reply.type !== "sup.metrics.result")
    throw new InvalidStateError(`unexpected metrics reply ${reply.type}`);
  return toSandboxMetrics(reply);
}

function toSandboxMetrics(reply: SupMetricsResult): SandboxMetrics {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the wire type is what is left out
  const { type, ...metrics } = reply;
  return metrics;
}

/** The error for metrics of a sandbox that does not run. */
export function notRunningError(name: string, status: string): InvalidStateError {
  return new InvalidStateError(`sandbox ${name} is ${status}: only a running sandbox has metrics`, {
    hint: "start it first; metrics are sampled live, never stored",
  });
}

/** The metrics of the sandbox of `record` (connects to its supervisor for the one call). */
export async function metricsOfRecord(record: SandboxRecord): Promise<SandboxMetrics> {
  if (!hasMetrics(record.status)) {
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
  const records = withStore(home, (store) => store.sandboxes.list()).filter((r) => hasMetrics(r.status));
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
  return now === undefined || !hasMetrics(now.status);
}

/** A sandbox has metrics while its VM serves: running, or draining its last operations. */
function hasMetrics(status: SandboxStatus): boolean {
  return status === "running" || status === "draining";
}
