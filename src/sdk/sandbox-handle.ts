/**
 * `SandboxHandle`: a lightweight handle from the database (no connection), and `SandboxInfo`, what listings
 * return. Both reflect reconciled state: a sandbox whose processes died is `crashed`.
 */
import { rmSync } from "node:fs";
import { msbPaths } from "../config/paths.js";
import { InvalidStateError, SandboxNotFoundError } from "../errors.js";
import { Store } from "../store/store.js";
import { isLive } from "../store/sandbox-status.js";
import { processAlive } from "../store/sandbox-repository.js";
import type { SandboxRecord, SandboxStatus } from "../store/sandbox-repository.js";
import { sandboxPaths } from "./context.js";
import type { Sandbox } from "./sandbox.js";
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

/** Deletes a sandbox that is not running: row, image lease, disk, logs and run directory. */
export async function removeSandbox(home: string, name: string): Promise<void> {
  await Promise.resolve();
  withStore(home, (store) => {
    const record = store.sandboxes.get(name);
    if (!record) throw new SandboxNotFoundError(name);
    if (isLive(record.status)) {
      throw new InvalidStateError(`sandbox ${name} is ${record.status}: stop it before removing it`);
    }
    if (record.imageDigest) store.images.removeLease(record.imageDigest, `sandbox:${name}`);
    store.sandboxes.delete(name);
    rmSync(sandboxPaths(home, name).dir, { recursive: true, force: true });
    rmSync(record.runDir, { recursive: true, force: true });
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

  /** Creation time in ms since the epoch. */
  get createdAt(): number {
    return this.record.createdAt;
  }

  /** Time of the last status change in ms since the epoch. */
  get updatedAt(): number {
    return this.record.updatedAt;
  }

  /** Stops the sandbox gracefully (SIGTERM to its supervisor) and waits for it. */
  async stop(): Promise<void> {
    const pid = this.record.supervisorPid;
    if (pid === undefined || !processAlive(pid)) return;
    process.kill(pid, "SIGTERM");
    await waitForExit(pid);
  }

  /** Kills the sandbox at once: its supervisor, and with it QEMU. */
  async kill(): Promise<void> {
    let killed = false;
    for (const pid of [this.record.supervisorPid, this.record.qemuPid]) {
      if (pid === undefined || !processAlive(pid)) continue;
      process.kill(pid, "SIGKILL");
      await waitForExit(pid);
      killed = true;
    }
    if (killed) {
      withStore(this.#home, (store) => {
        store.sandboxes.setStatus(this.record.name, "stopped", { exitReason: "killed" });
      });
    }
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
    return removeSandbox(this.#home, this.record.name);
  }
}
