/**
 * `SandboxHandle`: a lightweight handle from the database (no connection), and `SandboxInfo`, what listings
 * return. Both reflect reconciled state: a sandbox whose processes died is `crashed`.
 */
import { rmSync } from "node:fs";
import { msbPaths } from "../config/paths.js";
import { InvalidStateError, SandboxNotFoundError } from "../errors.js";
import { Store } from "../store/store.js";
import { isLive } from "../store/sandbox-status.js";
import { signalProcess } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";
import { qemuOf, supervisorOf } from "../store/sandbox-repository.js";
import type { SandboxRecord, SandboxStatus } from "../store/sandbox-repository.js";
import { LIVE_STATUSES } from "../store/sandbox-status.js";
import { sandboxPaths } from "./context.js";
import type { Sandbox } from "./sandbox.js";
import type { SandboxMetrics } from "./metrics.js";
import { waitForExit } from "./wait.js";
import { readSandboxLogs } from "./logs.js";
import type { LogsOptions } from "./logs.js";

/** A sandbox as listed. */
export interface SandboxInfo {
  readonly name: string;
  readonly status: SandboxStatus;
  /** The config the sandbox was created with, as JSON (no secret values). */
  readonly configJson: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Why it stopped or crashed (`stopped`, `killed`, `maxDurationSecs (5) reached`, `guest kernel panic (…)`). */
  readonly exitReason: string | undefined;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** {@link SandboxInfo} of a record. */
export function toSandboxInfo(record: SandboxRecord): SandboxInfo {
  return {
    name: record.name,
    status: record.status,
    configJson: record.configJson,
    image: record.image,
    labels: record.labels,
    exitReason: record.exitReason,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** Runs `fn` on the store of `home`, closing it afterwards. */
export function withStore<T>(home: string, fn: (store: Store) => T): T {
  const store = Store.open({ path: msbPaths(home).database });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/**
 * Deletes a sandbox that is not running: row, image lease, disk, logs and run directory. With `id`, only that
 * incarnation: a sandbox created again under the name is never removed by a stale handle.
 */
export async function removeSandbox(home: string, name: string, id?: string): Promise<void> {
  await Promise.resolve();
  withStore(home, (store) => {
    const record = store.sandboxes.get(name);
    if (!record || (id !== undefined && record.id !== id)) throw new SandboxNotFoundError(name);
    if (isLive(record.status)) {
      throw new InvalidStateError(`sandbox ${name} is ${record.status}: stop it before removing it`);
    }
    if (record.imageDigest) store.images.removeLease(record.imageDigest, `sandbox:${name}`);
    store.sandboxes.deleteById(record.id);
    rmSync(sandboxPaths(home, name).dir, { recursive: true, force: true });
    rmSync(record.runDir, { recursive: true, force: true });
  });
}

/**
 * Kills incarnation `id`: SIGKILL to its supervisor, only if that process is still the one recorded (QEMU dies
 * with it; `qemu`, when known, is waited for too), then records `stopped` (`killed`). Nothing happens to a
 * sandbox that is already gone.
 */
export async function killIncarnation(
  home: string,
  id: string,
  supervisor: ProcessIdentity,
  qemu?: ProcessIdentity,
): Promise<void> {
  if (!signalProcess(supervisor, "SIGKILL")) return;
  await waitForExit(supervisor);
  if (qemu !== undefined) await waitForExit(qemu, 5_000);
  withStore(home, (store) => {
    store.sandboxes.setStatus(id, "stopped", { exitReason: "killed" }, LIVE_STATUSES);
  });
}

/** A sandbox's database handle. */
export class SandboxHandle {
  /** The row as read (reconciled) when the handle was made. */
  readonly record: SandboxRecord;
  readonly #home: string;

  private constructor(home: string, record: SandboxRecord) {
    this.#home = home;
    this.record = record;
  }

  /** @internal Reads the row of `name` (throws {@link SandboxNotFoundError}). */
  static load(home: string, name: string): SandboxHandle {
    const record = withStore(home, (store) => store.sandboxes.get(name));
    if (!record) throw new SandboxNotFoundError(name);
    return new SandboxHandle(home, record);
  }

  get name(): string {
    return this.record.name;
  }

  /** Status when the handle was read: `running`, `stopped`, `crashed`... */
  get status(): SandboxStatus {
    return this.record.status;
  }

  /** The config as JSON, without secret values. */
  get configJson(): string {
    return this.record.configJson;
  }

  get labels(): Readonly<Record<string, string>> {
    return this.record.labels;
  }

  /** Why it stopped or crashed, when it did. */
  get exitReason(): string | undefined {
    return this.record.exitReason;
  }

  /** Creation time in ms since the epoch. */
  get createdAt(): number {
    return this.record.createdAt;
  }

  /** Time of the last status change in ms since the epoch. */
  get updatedAt(): number {
    return this.record.updatedAt;
  }

  /** The incarnation this handle was read from: it acts on this one only, never on a sandbox that replaced it. */
  get id(): string {
    return this.record.id;
  }

  /**
   * Stops the sandbox gracefully (SIGTERM to its supervisor, which runs the stop: stop signal, grace period,
   * power-off) and waits for it. Nothing happens if this incarnation is no longer running.
   */
  async stop(): Promise<void> {
    const supervisor = supervisorOf(this.record);
    if (supervisor === undefined || !signalProcess(supervisor, "SIGTERM")) return;
    await waitForExit(supervisor);
  }

  /**
   * Kills the sandbox at once: SIGKILL to its supervisor (QEMU dies with it), proven by pid and start time, so a
   * stale handle never kills a process that is not this incarnation's.
   */
  async kill(): Promise<void> {
    const supervisor = supervisorOf(this.record);
    if (supervisor !== undefined) {
      await killIncarnation(this.#home, this.record.id, supervisor, qemuOf(this.record));
    }
  }

  /** Starts this stopped or crashed sandbox again, attached to this process (see `Sandbox.start`). */
  async start(): Promise<Sandbox> {
    const { Sandbox } = await import("./sandbox.js");
    return Sandbox.start(this.record.name);
  }

  /** Starts this stopped or crashed sandbox again, detached (see `Sandbox.startDetached`). */
  async startDetached(): Promise<Sandbox> {
    const { Sandbox } = await import("./sandbox.js");
    return Sandbox.startDetached(this.record.name);
  }

  /** A fresh metrics sample of the running sandbox; `InvalidStateError` when it is not running. */
  async metrics(): Promise<SandboxMetrics> {
    const { metricsOfRecord } = await import("./metrics.js");
    return metricsOfRecord(SandboxHandle.load(this.#home, this.record.name).record);
  }

  /** A live {@link Sandbox} connected to this running sandbox (without owning its lifecycle). */
  async connect(): Promise<Sandbox> {
    const { Sandbox } = await import("./sandbox.js");
    return Sandbox.connect(this.#home, this.record);
  }

  /** The sandbox's logs, running or not (see `Sandbox.logs()`). */
  async logs(options: LogsOptions = {}): Promise<string> {
    await Promise.resolve();
    return readSandboxLogs(this.#home, this.record.name, options);
  }

  /** Removes the sandbox (it must be stopped or crashed). */
  remove(): Promise<void> {
    return removeSandbox(this.#home, this.record.name, this.record.id);
  }
}
