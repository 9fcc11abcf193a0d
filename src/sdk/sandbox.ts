/**
 * `Sandbox`: the live handle to a running sandbox, shaped as the seed README's. `Sandbox.create()` pulls the
 * image if needed, makes the sandbox's root disk, records it, starts its supervisor and connects; any failure
 * on the way removes everything it made (row, directories, processes).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { ExecTimeoutError, InvalidStateError, MsbError, SandboxCrashedError } from "../errors.js";
import { ImageService } from "../image/image-service.js";
import { isRunning } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";
import { Store } from "../store/store.js";
import { supervisorOf } from "../store/sandbox-repository.js";
import { isLive } from "../store/sandbox-status.js";
import type { SandboxRecord } from "../store/sandbox-repository.js";
import { validateSandboxConfig } from "./config.js";
import type { SandboxConfig } from "./config.js";
import { SupervisorConnection } from "./connection.js";
import { execDefaults } from "./defaults.js";
import { labelConditions, type SandboxListFilter } from "./list-filter.js";
import type { ExecDefaults } from "./defaults.js";
import { toExecRequest } from "./exec-config.js";
import type { ExecConfig, ExecStreamOptions } from "./exec-config.js";
import { ExecHandle } from "./exec-handle.js";
import { SandboxFs } from "./sandbox-fs.js";
import type { SandboxFsOptions } from "./sandbox-fs.js";
import { ExecOutput } from "./exec-output.js";
import type { ExitStatus } from "./exec-output.js";
import { storedImageConfig } from "./local-image-config.js";
import { createSandbox, startSandbox } from "./sandbox-boot.js";
import type { BootedSandbox } from "./sandbox-boot.js";
import { metricsOver, notRunningError } from "./metrics.js";
import type { SandboxMetrics } from "./metrics.js";
import { killIncarnation, removeSandbox, SandboxHandle, toSandboxInfo, withStore } from "./sandbox-handle.js";
import type { SandboxInfo } from "./sandbox-handle.js";
import { waitForExit } from "./wait.js";
import { readSandboxLogs } from "./logs.js";
import type { LogsOptions } from "./logs.js";

/** What a live handle is made of. */
interface SandboxInit extends BootedSandbox {
  /** This handle stops the sandbox when disposed (it created or started it, and did not detach). */
  readonly ownsLifecycle: boolean;
}

/**
 * A running sandbox. The handle that created or started it owns its lifecycle: stop it with `stopAndWait()`, or
 * let `await using` do it. A handle from `connect()` (or after `detach()`) leaves the sandbox running.
 */
export class Sandbox implements AsyncDisposable {
  readonly #name: string;
  readonly #id: string;
  readonly #home: string;
  readonly #defaults: ExecDefaults;
  readonly #supervisor: ProcessIdentity;
  readonly #connection: SupervisorConnection;
  #ownsLifecycle: boolean;
  #stopped = false;

  private constructor(init: SandboxInit) {
    this.#name = init.name;
    this.#id = init.id;
    this.#home = init.home;
    this.#defaults = init.defaults;
    this.#supervisor = init.supervisor;
    this.#connection = init.connection;
    this.#ownsLifecycle = init.ownsLifecycle;
  }

  /** Creates and starts a sandbox attached to this process (it stops when this process exits). */
  static create(config: SandboxConfig): Promise<Sandbox> {
    return Sandbox.#boot((store, home) => createSandbox(store, home, validateSandboxConfig(config), false));
  }

  /**
   * Creates and starts a sandbox that outlives this process. Any process can reach it later with
   * `(await Sandbox.get(name)).connect()`; stop it with `stop()` or `msb stop`.
   */
  static createDetached(config: SandboxConfig): Promise<Sandbox> {
    return Sandbox.#boot((store, home) => createSandbox(store, home, validateSandboxConfig(config), true));
  }

  /**
   * Starts a stopped or crashed sandbox again from its stored config and its own disk (files written before the
   * stop are there), attached to this process. Throws `SandboxStillRunningError` if it runs.
   */
  static start(name: string): Promise<Sandbox> {
    return Sandbox.#boot((store, home) => startSandbox(store, home, name, false));
  }

  /** {@link Sandbox.start}, detached: the sandbox outlives this process. */
  static startDetached(name: string): Promise<Sandbox> {
    return Sandbox.#boot((store, home) => startSandbox(store, home, name, true));
  }

  static async #boot(boot: (store: Store, home: string) => Promise<BootedSandbox>): Promise<Sandbox> {
    const home = readEnv().home;
    const store = Store.open({ path: msbPaths(home).database });
    try {
      return new Sandbox({ ...(await boot(store, home)), ownsLifecycle: true });
    } finally {
      store.close();
    }
  }

  /** @internal Connects to the running sandbox of `record` (used by `SandboxHandle.connect()`). */
  static async connect(home: string, record: SandboxRecord): Promise<Sandbox> {
    const supervisor = supervisorOf(record);
    if (record.status !== "running" || supervisor === undefined) {
      throw new InvalidStateError(`sandbox ${record.name} is ${record.status}, not running`, {
        hint: "start it again with Sandbox.start(name)",
      });
    }
    const config = JSON.parse(record.configJson) as SandboxConfig;
    await using images = await ImageService.open();
    const imageConfig = storedImageConfig(images, record);
    const connection = await SupervisorConnection.open(record.runDir);
    return new Sandbox({
      name: record.name,
      id: record.id,
      home,
      defaults: execDefaults(config, imageConfig),
      supervisor,
      connection,
      ownsLifecycle: false,
    });
  }

  /** The database handle of a sandbox (throws `SandboxNotFoundError`). */
  static async get(name: string): Promise<SandboxHandle> {
    await Promise.resolve();
    return SandboxHandle.load(readEnv().home, name);
  }

  /**
   * Every sandbox with its status (rows whose processes died are reported `crashed`); with `filter.labels`, only
   * those carrying every label given (`{ tier: "web" }`: that value; `{ tier: true }`: any value).
   */
  static async list(filter?: SandboxListFilter): Promise<SandboxInfo[]> {
    await Promise.resolve();
    const labels = labelConditions(filter);
    return withStore(readEnv().home, (store) => store.sandboxes.list(labels).map(toSandboxInfo));
  }

  /** Removes a stopped (or crashed) sandbox: its row, disk and logs. */
  static async remove(name: string): Promise<void> {
    await (await Sandbox.get(name)).remove();
  }

  /** The sandbox's name. */
  get name(): string {
    return this.#name;
  }

  /** The incarnation's id: a sandbox created again under the same name has another. */
  get id(): string {
    return this.#id;
  }

  /** True when this handle stops the sandbox on dispose (it created or started it and has not detached). */
  get ownsLifecycle(): boolean {
    return this.#ownsLifecycle;
  }

  /** Runs `cmd` with `args` and collects its output. */
  exec(cmd: string, args: readonly string[] = []): Promise<ExecOutput> {
    return this.execWithConfig({ cmd, args });
  }

  /** Runs a command with full options and collects its output. */
  async execWithConfig(config: ExecConfig): Promise<ExecOutput> {
    const request = toExecRequest(config, this.#defaults);
    this.#assertUsable();
    let result;
    try {
      result = await this.#connection.exec(request);
    } catch (err) {
      throw await this.#explain(err);
    }
    if (result.timedOut) throw new ExecTimeoutError(request.timeoutMs ?? 0, result);
    return new ExecOutput(result);
  }

  /** Runs `script` with the sandbox's shell (`/bin/sh -c script` by default). */
  shell(script: string): Promise<ExecOutput> {
    return this.execWithConfig({ cmd: this.#defaults.shell, args: ["-c", script] });
  }

  /**
   * Starts `cmd` and returns its {@link ExecHandle} once it runs: read events with `recv()` or `for await`,
   * write stdin (`stdin: "pipe"`) with `takeStdin()`. Rejects at once for a command that cannot start.
   */
  execStream(
    cmd: string,
    args: readonly string[] = [],
    options: ExecStreamOptions = {},
  ): Promise<ExecHandle> {
    return this.execStreamWithConfig({ ...options, cmd, args });
  }

  /** {@link execStream} with every option in one object. */
  async execStreamWithConfig(config: ExecConfig): Promise<ExecHandle> {
    const request = toExecRequest(config, this.#defaults);
    this.#assertUsable();
    try {
      const channel = this.#connection.startExec(request);
      const started = await channel.next();
      if (started === null) throw new InvalidStateError("the exec ended before it started");
      return new ExecHandle({
        channel,
        started,
        pipedStdin: request.stdin === "pipe",
        maxOutputBytes: request.maxOutputBytes,
        explain: (e) => this.#explain(e),
      });
    } catch (err) {
      throw await this.#explain(err);
    }
  }

  /** File access to the guest (as root, or as `options.user`): read, write, list, copy to and from the host. */
  fs(options: SandboxFsOptions = {}): SandboxFs {
    return new SandboxFs(this.#connection, options, (err) => this.#explain(err));
  }

  /** Streams `script` run by the sandbox's shell. */
  shellStream(script: string): Promise<ExecHandle> {
    return this.execStream(this.#defaults.shell, ["-c", script]);
  }

  /**
   * @internal Counters for leak checks: the supervisor's clients and relayed streams, and the agent's open
   * operations (this query's own stream excluded).
   */
  async debugStats(): Promise<{
    clients: number;
    streams: number;
    agentStreams: number;
    guestStreams: number;
  }> {
    const sup = await this.#connection.call({ type: "sup.stats" });
    const guest = await this.#connection.call({ type: "stats" });
    if (sup.type !== "sup.stats.result" || guest.type !== "stats.result") {
      throw new InvalidStateError("unexpected stats reply");
    }
    return {
      clients: sup.clients,
      streams: sup.streams,
      agentStreams: sup.agentStreams,
      guestStreams: guest.streams,
    };
  }

  /** A fresh metrics sample (see {@link SandboxMetrics}); `InvalidStateError` once the sandbox stopped. */
  async metrics(): Promise<SandboxMetrics> {
    if (this.#stopped) throw notRunningError(this.#name, "stopped");
    this.#assertUsable();
    try {
      return await metricsOver(this.#connection);
    } catch (err) {
      throw await this.#explain(err);
    }
  }

  /**
   * The sandbox's logs (beyond the seed): the main process's output by default, or `source: "console"` /
   * `"supervisor"`; `tail` keeps the last lines. Still readable after the sandbox stopped.
   */
  async logs(options: LogsOptions = {}): Promise<string> {
    await Promise.resolve();
    return readSandboxLogs(this.#home, this.#name, options);
  }

  /**
   * Asks the sandbox to stop: its main process gets the stop signal and a grace period, every process is then
   * terminated and the VM powers off. Resolves once the stop is under way (`stopAndWait()` waits for the end).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.#connection.requestStop();
    } catch (err) {
      if (!isRunning(this.#supervisor)) return; // already gone
      throw err;
    }
  }

  /** Stops the sandbox and waits until it is down. */
  async stopAndWait(): Promise<ExitStatus> {
    await this.stop();
    return this.wait();
  }

  /**
   * Kills the sandbox at once (no graceful shutdown): SIGKILL to this incarnation's supervisor only, proven by its
   * start time, so a stale handle never kills a sandbox created later under the same name.
   */
  async kill(): Promise<void> {
    this.#stopped = true;
    await killIncarnation(this.#home, this.#id, this.#supervisor);
    this.#connection.close();
  }

  /** No new commands are accepted; those running finish; then the sandbox stops (`wait()` for the end). */
  async drain(): Promise<void> {
    this.#assertUsable();
    await this.#callSupervisor({ type: "sup.drain" });
  }

  /**
   * From now on the sandbox outlives this handle and the process that created it: disposing the handle only
   * disconnects. Reach it later with `(await Sandbox.get(name)).connect()`.
   */
  async detach(): Promise<void> {
    this.#assertUsable();
    await this.#callSupervisor({ type: "sup.detach" });
    this.#ownsLifecycle = false;
  }

  /** Stops the sandbox if it runs, then removes everything it persisted (row, disk, logs). */
  async removePersisted(): Promise<void> {
    if (isRunning(this.#supervisor)) await this.stopAndWait();
    this.#stopped = true;
    this.#connection.close();
    await removeSandbox(this.#home, this.#name, this.#id);
  }

  /** Waits until the sandbox has stopped; `code` 0 for a clean stop, 1 for a crash. */
  async wait(): Promise<ExitStatus> {
    await waitForExit(this.#supervisor, Number.POSITIVE_INFINITY);
    this.#connection.close();
    const record = withStore(this.#home, (store) => store.sandboxes.getById(this.#id));
    const code = record?.status === "stopped" ? 0 : 1;
    return { code, success: code === 0 };
  }

  /**
   * `await using` support: a handle that owns the sandbox stops it and waits; any other handle disconnects.
   * Never throws for a sandbox that is already gone (stopped, crashed or killed).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#ownsLifecycle && isRunning(this.#supervisor)) await this.stopAndWait();
    else this.#connection.close();
  }

  async #callSupervisor(message: { type: "sup.drain" | "sup.detach" }): Promise<void> {
    try {
      await this.#connection.call(message);
    } catch (err) {
      throw await this.#explain(err);
    }
  }

  #assertUsable(): void {
    if (this.#stopped) throw new InvalidStateError(`sandbox ${this.#name} is stopped`);
    // Only a closed connection needs the database: it tells a crash from a stop.
    if (this.#connection.closedBy === undefined) return;
    const record = withStore(this.#home, (store) => store.sandboxes.getById(this.#id));
    if (record === undefined) throw new InvalidStateError(`sandbox ${this.#name} was removed`);
    if (record.status === "crashed")
      throw new SandboxCrashedError(this.#name, record.exitReason ?? "unknown");
    throw new InvalidStateError(`sandbox ${this.#name} is ${record.status}`);
  }

  /**
   * A failure after the supervisor or QEMU died is a {@link SandboxCrashedError}, whatever the connection said
   * (a protocol error, a lost agent, a closed socket); errors of the operation itself keep their class. The
   * supervisor records the crash a moment after the agent connection drops, so a lost connection waits (briefly)
   * for the row to settle.
   */
  async #explain(err: unknown): Promise<unknown> {
    const lost =
      this.#connection.closedBy !== undefined ||
      !(err instanceof MsbError) ||
      err.code === "MSB_ERR_PROTOCOL" ||
      err.code === "MSB_ERR_VM_EXITED";
    if (!lost) return err;
    const record = await settledRecord(this.#home, this.#id, this.#supervisor);
    if (record?.status === "crashed") {
      return new SandboxCrashedError(this.#name, record.exitReason ?? "unknown", { cause: err });
    }
    return err;
  }
}

/** How long a lost connection waits for the supervisor to record why. */
const SETTLE_MS = 3_000;

/** The row of `id` once it no longer says live (or the supervisor is gone), or as it is after {@link SETTLE_MS}. */
async function settledRecord(
  home: string,
  id: string,
  supervisor: ProcessIdentity,
): Promise<SandboxRecord | undefined> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    // Whether the supervisor is gone is read before the row: a SIGKILLed process closes its sockets before it
    // becomes a zombie, so a row read first could still say `running` when the check after it says gone.
    // Read after, the row is reconciled against a death already seen, and says `crashed`.
    const gone = !isRunning(supervisor);
    const record = withStore(home, (store) => store.sandboxes.getById(id));
    const settled = record === undefined || !isLive(record.status) || gone;
    if (settled || Date.now() > deadline) return record;
    await sleep(50);
  }
}
