/**
 * `Sandbox`: the live handle to a running sandbox, shaped as the seed README's. `Sandbox.create()` pulls the
 * image if needed, makes the sandbox's root disk, records it, starts its supervisor and connects; any failure
 * on the way removes everything it made (row, directories, processes).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { ExecTimeoutError, InvalidStateError, MsbError, SandboxCrashedError } from "../errors.js";
import { ImageService } from "../image/image-service.js";
import { Store } from "../store/store.js";
import { isLive } from "../store/sandbox-status.js";
import { processAlive } from "../store/sandbox-repository.js";
import type { SandboxRecord } from "../store/sandbox-repository.js";
import { persistableConfig, validateSandboxConfig } from "./config.js";
import type { SandboxConfig } from "./config.js";
import { SupervisorConnection } from "./connection.js";
import { labelConditions, type SandboxListFilter } from "./list-filter.js";
import { sandboxPaths, sandboxRunDir } from "./context.js";
import { execDefaults, mainProcess } from "./defaults.js";
import type { ExecDefaults } from "./defaults.js";
import { toExecRequest } from "./exec-config.js";
import type { ExecConfig, ExecStreamOptions } from "./exec-config.js";
import { ExecHandle } from "./exec-handle.js";
import { SandboxFs } from "./sandbox-fs.js";
import type { SandboxFsOptions } from "./sandbox-fs.js";
import { ExecOutput } from "./exec-output.js";
import type { ExitStatus } from "./exec-output.js";
import { PendingSupervisor } from "./launch.js";
import { removeSandbox, SandboxHandle, toSandboxInfo, withStore } from "./sandbox-handle.js";
import type { SandboxInfo } from "./sandbox-handle.js";
import { waitForExit } from "./wait.js";

/** What a live handle is made of. */
interface SandboxInit {
  readonly name: string;
  readonly home: string;
  readonly defaults: ExecDefaults;
  readonly supervisorPid: number;
  readonly connection: SupervisorConnection;
}

/** A running sandbox. Stop it with `stopAndWait()`, or let `await using` do it. */
export class Sandbox implements AsyncDisposable {
  readonly #name: string;
  readonly #home: string;
  readonly #defaults: ExecDefaults;
  readonly #supervisorPid: number;
  readonly #connection: SupervisorConnection;
  #stopped = false;

  private constructor(init: SandboxInit) {
    this.#name = init.name;
    this.#home = init.home;
    this.#defaults = init.defaults;
    this.#supervisorPid = init.supervisorPid;
    this.#connection = init.connection;
  }

  /** Creates and starts a sandbox attached to this process (it stops when this process exits). */
  static create(config: SandboxConfig): Promise<Sandbox> {
    return Sandbox.#create(config, false);
  }

  /**
   * Creates and starts a sandbox that outlives this process. Any process can reach it later with
   * `(await Sandbox.get(name)).connect()`; stop it with `stop()` or `msb stop`.
   */
  static createDetached(config: SandboxConfig): Promise<Sandbox> {
    return Sandbox.#create(config, true);
  }

  static async #create(config: SandboxConfig, detached: boolean): Promise<Sandbox> {
    const valid = validateSandboxConfig(config);
    const home = readEnv().home;
    const store = Store.open({ path: msbPaths(home).database });
    try {
      return await createIn(store, home, valid, detached);
    } finally {
      store.close();
    }
  }

  /** @internal Connects to the running sandbox of `record` (used by `SandboxHandle.connect()`). */
  static async connect(home: string, record: SandboxRecord): Promise<Sandbox> {
    if (record.status !== "running" || record.supervisorPid === undefined) {
      throw new InvalidStateError(`sandbox ${record.name} is ${record.status}, not running`, {
        hint: "start a new one with Sandbox.create()",
      });
    }
    const config = JSON.parse(record.configJson) as SandboxConfig;
    await using images = await ImageService.open();
    const image = images.inspect(record.imageDigest ?? record.image);
    const connection = await SupervisorConnection.open(record.runDir);
    return new Sandbox({
      name: record.name,
      home,
      defaults: execDefaults(config, image.config),
      supervisorPid: record.supervisorPid,
      connection,
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
      throw this.#explain(err);
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
      });
    } catch (err) {
      throw this.#explain(err);
    }
  }

  /** File access to the guest (as root, or as `options.user`): read, write, list, copy to and from the host. */
  fs(options: SandboxFsOptions = {}): SandboxFs {
    return new SandboxFs(this.#connection, options);
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

  /** Asks the sandbox to stop (processes get SIGTERM, then SIGKILL; the VM powers off). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.#connection.requestStop();
    } catch (err) {
      if (!processAlive(this.#supervisorPid)) return; // already gone
      throw err;
    }
  }

  /** Stops the sandbox and waits until it is down. */
  async stopAndWait(): Promise<ExitStatus> {
    await this.stop();
    return this.wait();
  }

  /** Kills the sandbox at once (no graceful shutdown). */
  async kill(): Promise<void> {
    this.#stopped = true;
    await SandboxHandle.load(this.#home, this.#name).kill();
  }

  /** Waits until the sandbox has stopped; `code` 0 for a clean stop, 1 for a crash. */
  async wait(): Promise<ExitStatus> {
    await waitForExit(this.#supervisorPid);
    this.#connection.close();
    const record = SandboxHandle.load(this.#home, this.#name).record;
    const code = record.status === "stopped" ? 0 : 1;
    return { code, success: code === 0 };
  }

  /** `await using` support: stops the sandbox and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#stopped || processAlive(this.#supervisorPid)) await this.stopAndWait();
  }

  #assertUsable(): void {
    if (this.#stopped) throw new InvalidStateError(`sandbox ${this.#name} is stopped`);
    // Only a closed connection needs the database: it tells a crash from a stop.
    if (this.#connection.closedBy === undefined) return;
    const record = SandboxHandle.load(this.#home, this.#name).record;
    if (record.status === "crashed")
      throw new SandboxCrashedError(this.#name, record.exitReason ?? "unknown");
    throw new InvalidStateError(`sandbox ${this.#name} is ${record.status}`);
  }

  #explain(err: unknown): unknown {
    if (err instanceof MsbError && err.code !== "MSB_ERR_PROTOCOL") return err;
    const record = SandboxHandle.load(this.#home, this.#name).record;
    if (record.status === "crashed")
      return new SandboxCrashedError(this.#name, record.exitReason ?? "unknown");
    return err;
  }

  /** @internal */
  static fromLaunch(init: SandboxInit): Sandbox {
    return new Sandbox(init);
  }
}

async function createIn(
  store: Store,
  home: string,
  config: SandboxConfig,
  detached: boolean,
): Promise<Sandbox> {
  const existing = store.sandboxes.get(config.name);
  if (existing && config.replace === true) await replaceExisting(home, existing);
  await using images = await ImageService.open({ store });
  const image = await images.pull(config.image, {
    policy: config.pullPolicy ?? "if-missing",
    ...(config.registryAuth ? { auth: config.registryAuth } : {}),
  });
  const id = randomBytes(6).toString("hex");
  const paths = sandboxPaths(home, config.name);
  const runDir = sandboxRunDir(home, id);
  store.sandboxes.insert({
    name: config.name,
    id,
    configJson: persistableConfig(config),
    image: config.image,
    imageDigest: image.digest,
    labels: config.labels ?? {},
    runDir,
    ownerPid: process.pid,
    detached,
  });
  let supervisorPid: number | undefined;
  const holder = `sandbox:${config.name}`;
  try {
    mkdirSync(paths.dir, { recursive: true });
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const pending = PendingSupervisor.spawn({ logFile: paths.supervisorLog, detached });
    supervisorPid = pending.pid;
    const disk = await images.createRootDisk({ image: image.digest, path: paths.rootDisk });
    images.lease(image.digest, holder);
    const main = mainProcess(config, image.config);
    const defaults = execDefaults(config, image.config);
    const launched = await pending.start({
      name: config.name,
      home,
      runDir,
      rootDisk: disk,
      cpus: config.cpus ?? 1,
      memoryMib: config.memoryMib ?? 512,
      hostname: config.hostname ?? config.name.replace(/[^A-Za-z0-9-]/g, "-").slice(0, 63),
      detached,
      ...(config.network ? { network: config.network } : {}),
      ...(config.ports ? { ports: config.ports } : {}),
      ...(main ? { main: { argv: main, env: defaults.env, cwd: defaults.cwd, user: defaults.user } } : {}),
    });
    supervisorPid = launched.pid;
    const connection = await SupervisorConnection.open(runDir);
    return Sandbox.fromLaunch({ name: config.name, home, defaults, supervisorPid, connection });
  } catch (err) {
    if (supervisorPid !== undefined && processAlive(supervisorPid)) process.kill(supervisorPid, "SIGKILL");
    if (supervisorPid !== undefined) await waitForExit(supervisorPid);
    store.sandboxes.delete(config.name);
    store.images.removeLease(image.digest, holder);
    rmSync(paths.dir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

async function replaceExisting(home: string, record: SandboxRecord): Promise<void> {
  const handle = SandboxHandle.load(home, record.name);
  if (isLive(record.status)) {
    await handle.kill();
  }
  await removeSandbox(home, record.name);
}
