/**
 * A booted microVM with a handshaken agent: the unit everything else builds on. `MicroVm.boot()` starts QEMU on
 * the runtime built by set-up, connects to the agent, mounts the root disk and returns a VM ready for `exec`.
 * On any failure QEMU is killed before the error is thrown: a failed boot leaves no process behind.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentConnection, HandshakeTimeoutError } from "../agent-client/connection.js";
import { execCollect } from "../agent-client/exec.js";
import type { ExecRequest, ExecResult } from "../agent-client/exec.js";
import { readEnv } from "../config/env.js";
import { readIfPresent } from "../logs/read.js";
import { RotatingWriter } from "../logs/rotating-writer.js";
import type { LogLimits } from "../logs/rotating-writer.js";
import {
  AgentError,
  InvalidConfigError,
  InvalidStateError,
  MsbError,
  UnsupportedError,
  VmError,
} from "../errors.js";
import type { HostMessage, InitMount, NetConfigureMessage, RootSpec } from "../protocol/messages.js";
import { runtimeArtifacts } from "../setup/artifacts.js";
import { hostTscKhz } from "../setup/host.js";
import type { RuntimeArtifacts } from "../setup/types.js";
import { EMPTY_MOUNT_PLAN } from "../storage/mount-plan.js";
import type { MountPlan } from "../storage/mount-plan.js";
import { detectAccelerator, hostAccelProbe, tcgReason, warnTcgOnce } from "./accel.js";
import { buildQemuArgv, kernelCmdline } from "./argv.js";
import type { Accelerator, VmConfig, VmDisk, VmShare } from "./config.js";
import { ShareSet, checkMountPlan, extraDisks, shareFiles } from "./mount-wiring.js";
import { chooseCpuPin } from "./cpu-pin.js";
import { QemuProcess, SOCKET_RETRY_MS } from "./qemu-process.js";
import { ownedRunDir } from "./run-dir.js";
import { checkSocketPath } from "../os/socket-path.js";
import { restoreVmState, saveVmState } from "./vm-state.js";
import type { VmExit } from "./qemu-process.js";

/** The disk the guest uses as its root filesystem. */
export interface RootDiskOptions {
  readonly path: string;
  readonly format: "raw" | "qcow2";
  /** Attach read-only (the guest mounts it read-only too). Default false. */
  readonly readonly?: boolean;
}

/** Options of {@link MicroVm.boot}. */
export interface MicroVmOptions {
  /** Root filesystem (ext4). Without it the guest keeps its initramfs as root (tests only). */
  readonly rootDisk?: RootDiskOptions;
  /** Virtual CPUs. Default 1. */
  readonly cpus?: number;
  /** Guest memory. Default 512 MiB. */
  readonly memoryMib?: number;
  /** Guest hostname. Default `microsandbox`. */
  readonly hostname?: string;
  /**
   * Directory for the VM's sockets and console log. Default: a fresh directory under `<home>/tmp`, removed at
   * shutdown. A directory you pass is kept (with `console.log`) for inspection.
   */
  readonly runDir?: string;
  /** State directory; default from `MSB_HOME` / `~/.microsandbox`. */
  readonly home?: string;
  /** Where the guest console is logged (rotated at `logLimits`). Default `<runDir>/console.log`. */
  readonly consoleLog?: string;
  /** Size bound of the console log. Default from `MSB_LOG_MAX_BYTES` / `MSB_LOG_FILES`. */
  readonly logLimits?: LogLimits;
  /** Runtime artefacts; default: those installed under `home` by set-up. */
  readonly artifacts?: RuntimeArtifacts;
  /** Accelerator; default detected (KVM, HVF, else TCG). */
  readonly accel?: Accelerator;
  /** Give up when the agent has not answered within this time. Default 60 s. */
  readonly bootTimeoutMs?: number;
  /**
   * Guest networking (from `NetworkStack`: `{ nic: stack.nic, configure: stack.guestConfig }`): a virtio-net
   * NIC on the `-netdev stream` socket the stack listens on (absent: no NIC), and the agent's `net.configure`,
   * sent right after `init`. Without this option the guest has no network set up at all.
   */
  readonly network?: {
    readonly nic?: { readonly socketPath: string; readonly mac: string } | undefined;
    /** Absent: the NIC is left unconfigured. */
    readonly configure?: NetConfigureMessage;
  };
  /**
   * Volumes: folders shared over virtio-fs (one `virtiofsd` each, started before QEMU and killed with it), extra
   * ext4 disks, and the guest mounts `init` makes after the root switch. Shares need root (CAP_SYS_ADMIN).
   */
  readonly mounts?: MountPlan;
  /**
   * Guest RAM in a file: shared for the VM a template is made from ({@link MicroVm.saveTemplateState}), private
   * (copy-on-write) for a VM restored from one. Not with shares.
   */
  readonly ramFile?: { readonly path: string; readonly shared: boolean };
  /**
   * Restore a template instead of booting: QEMU loads the device state at `statePath` (RAM comes from
   * `ramFile`, which must then be the template's, private), and `template.resume` (hostname, fresh entropy)
   * replaces `init`: the root disk is already mounted. `rootDisk` must be a child of the template's disk. The
   * template ran this VM's `network.configure` itself (its key holds the interface): the resume carries only the
   * resolv.conf and hosts of it.
   */
  readonly restore?: {
    readonly statePath: string;
    /**
     * Return after the handshake, before `template.resume`: a warm spare VM, made a sandbox later with
     * {@link MicroVm.relocate} and {@link MicroVm.resumeTemplate}.
     */
    readonly deferResume?: boolean;
  };
}

/** QEMU's QMP socket, in the VM's run directory. */
const QMP_SOCKET = "qmp.sock";

function checkRunDirSocket(path: string): void {
  checkSocketPath(path, "runDir", "use a shorter MSB_HOME or runDir");
}

/** How long a failed connection waits to learn whether QEMU exited (its stderr then explains the failure). */
const QEMU_EXIT_GRACE_MS = 2_000;

/** Connects to QEMU's agent socket, retrying until QEMU has created it. */
async function connectAgentSocket(path: string, qemu: QemuProcess, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (qemu.exitInfo) throw qemu.exitError("QEMU exited before the agent socket was ready");
    const socket = createConnection(path);
    const error = await new Promise<Error | undefined>((resolve) => {
      socket.once("connect", () => {
        resolve(undefined);
      });
      socket.once("error", resolve);
    });
    if (!error) return socket;
    socket.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== "ENOENT" && code !== "ECONNREFUSED") || Date.now() > deadline) {
      if (await qemu.waitExit(QEMU_EXIT_GRACE_MS))
        throw qemu.exitError("QEMU exited before the agent socket was ready");
      throw new VmError("MSB_ERR_VM_START", `cannot connect to the agent socket: ${error.message}`, {
        cause: error,
      });
    }
    await sleep(SOCKET_RETRY_MS);
  }
}

type VmState = "running" | "stopping" | "stopped";

/**
 * Where a VM's start went, in milliseconds, for the supervisor's log and `npm run bench`. Under TCG the agent's
 * phases are mostly translation: a restored VM's translation cache starts empty too.
 */
export interface BootPhases {
  /** Spawning QEMU, and for a restore its QMP socket up and the template's device state asked for. */
  readonly qemuMs: number;
  /** To the agent's handshake: a cold VM's kernel and init boot, a restored one's guest waking up. */
  readonly agentMs: number;
  /** The agent's set-up: `init` (the root) and the network's, or `template.resume` (the sandbox's identity). */
  readonly setupMs: number;
}

/** A running microVM. Dispose it (`await using`) or call {@link MicroVm.shutdown}. */
export class MicroVm implements AsyncDisposable {
  /** The agent connection (handshake done). */
  readonly agent: AgentConnection;
  /** Path of the guest console log. */
  get consoleLog(): string {
    return this.console.path;
  }
  /** Milliseconds from spawning QEMU to the agent's handshake (a warm spare's: 0, it was up before). */
  get bootMs(): number {
    return this.phases.qemuMs + this.phases.agentMs;
  }
  /** Where the start went; `setupMs` is 0 until {@link MicroVm.boot} has set the guest up. */
  get bootPhases(): BootPhases {
    return this.phases;
  }
  private phases: BootPhases;
  private readonly qemu: QemuProcess;
  private readonly console: ConsoleSink;
  private runDir: string;
  private readonly ownsRunDir: boolean;
  private readonly sharesStopped: Promise<void>;
  private state: VmState = "running";

  private constructor(init: {
    qemu: QemuProcess;
    agent: AgentConnection;
    runDir: string;
    ownsRunDir: boolean;
    bootMs: number;
    qemuMs: number;
    console: ConsoleSink;
    sharesStopped: Promise<void>;
  }) {
    this.sharesStopped = init.sharesStopped;
    this.qemu = init.qemu;
    this.agent = init.agent;
    this.runDir = init.runDir;
    this.ownsRunDir = init.ownsRunDir;
    this.phases = { qemuMs: init.qemuMs, agentMs: init.bootMs - init.qemuMs, setupMs: 0 };
    this.console = init.console;
    // A guest that breaks the protocol has forfeited its VM.
    this.agent.onClose(() => {
      if (this.state === "running") this.qemu.kill();
    });
    void this.qemu.exited.then(() => {
      if (this.state === "running") this.agent.close();
    });
  }

  /** Starts a VM and waits until its agent is ready (and the root disk mounted). */
  static async boot(options: MicroVmOptions = {}): Promise<MicroVm> {
    const env = readEnv();
    const home = options.home ?? env.home;
    const artifacts = options.artifacts ?? runtimeArtifacts({ home });
    const site = { home, ...artifacts };
    const accel = options.accel ?? detectAccelerator(hostAccelProbe(env.accel, site));
    if (accel === "tcg") {
      warnTcgOnce(() =>
        options.accel === undefined ? tcgReason(env.accel, site) : "the VM's options ask for TCG",
      );
    }
    const ownsRunDir = options.runDir === undefined;
    // Owned: if this process dies without shutting the VM down, the next ImageService cleans it up.
    const runDir = options.runDir ?? ownedRunDir(home, "vm");
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const plan = options.mounts ?? EMPTY_MOUNT_PLAN;
    checkMountPlan(plan);
    const logLimits = options.logLimits ?? env.logLimits;
    const consolePath = options.consoleLog ?? join(runDir, "console.log");
    // Everything is checked before the first process starts.
    const planned = plan.shares.map((share, i) => ({
      tag: share.tag,
      socketPath: shareFiles(runDir, consolePath, i).socket,
    }));
    const config = vmConfig({ options, artifacts, accel, runDir, shares: planned, guestAslr: env.guestAslr });
    for (const path of [config.agentSocket, config.qmpSocket, ...planned.map((s) => s.socketPath)]) {
      checkRunDirSocket(path);
    }
    if (config.network.kind === "stream") checkRunDirSocket(config.network.socketPath);
    const argv = buildQemuArgv(config);
    if (options.restore && !options.ramFile) {
      throw new InvalidConfigError("ramFile", "a VM restored from a template needs the template's RAM file");
    }
    const cpuPin = chooseCpuPin({
      accel,
      cpus: config.cpus,
      shares: plan.shares.length,
      enabled: env.pinShareVms,
      qemuBinary: artifacts.qemuBinary,
    });
    const shares = await ShareSet.start(plan.shares, {
      runDir,
      consoleLog: consolePath,
      logLimits,
      binary: env.virtiofsdBinary,
      cpuPin,
    });
    const started = performance.now();
    const consoleLog = new ConsoleSink(config.consoleLog, logLimits);
    let qemu: QemuProcess;
    try {
      qemu = await QemuProcess.start({
        binary: artifacts.qemuBinary,
        argv,
        consoleLog: config.consoleLog,
        qmpSocket: config.qmpSocket,
        cpuPin,
        onConsole: (chunk) => {
          consoleLog.write(chunk);
        },
      });
    } catch (err) {
      consoleLog.close();
      await shares.stop();
      throw err;
    }
    // virtiofsd ends by itself when QEMU closes its socket; the kill makes sure of it.
    const sharesStopped = qemu.exited.then(async () => {
      consoleLog.close();
      await shares.stop();
    });
    void shares.firstExit().then(async (i) => {
      // A share whose daemon died would hang every guest access to its mount: the VM is stopped instead. QEMU
      // exiting ends the daemons too, so only a daemon that goes first while QEMU keeps running counts.
      if (await qemu.waitExit(QEMU_EXIT_GRACE_MS)) return;
      consoleLog.write(Buffer.from(`\nmsb: the virtiofsd of share ${i} exited; stopping the VM\n`));
      qemu.kill();
    });
    try {
      if (options.restore) {
        const { statePath } = options.restore;
        await qemu.withQmp(
          async (qmp) => {
            await restoreVmState(qmp, statePath);
          },
          options.bootTimeoutMs ?? 60_000,
          "the template restore",
        );
      }
      const qemuMs = performance.now() - started;
      const agent = await handshake(qemu, config, options.bootTimeoutMs ?? 60_000);
      const vm = new MicroVm({
        qemu,
        agent,
        runDir,
        ownsRunDir,
        bootMs: performance.now() - started,
        qemuMs,
        console: consoleLog,
        sharesStopped,
      });
      if (plan.mounts.length > 0 && !agent.features.has("mounts")) {
        throw new UnsupportedError("mounts", {
          reason: "the guest agent cannot mount volumes (it lacks the mounts feature)",
        });
      }
      const configure = options.network?.configure;
      if (options.restore?.deferResume === true) return vm;
      if (options.restore) {
        // The root is mounted and the network set up already (by the template, for this interface).
        await vm.resume(options.hostname ?? "microsandbox", configure);
      } else {
        await vm.init(
          options.hostname ?? "microsandbox",
          options.rootDisk ? rootSpec(config.disks[0]) : undefined,
          plan.mounts,
        );
        if (configure) await vm.setupStep(configure, "guest network set-up");
      }
      vm.phases = { ...vm.phases, setupMs: performance.now() - started - vm.bootMs };
      return vm;
    } catch (err) {
      qemu.kill();
      await sharesStopped;
      throw err instanceof MsbError
        ? err
        : new VmError("MSB_ERR_VM_START", `boot failed: ${String(err)}`, {
            cause: err,
            consoleLog: config.consoleLog,
          });
    }
  }

  /**
   * Moves a VM started ahead of its sandbox (a warm spare, booted with its own `runDir`) into the sandbox's
   * places: its run directory is renamed to `runDir` (an empty directory there is replaced; QEMU's sockets go
   * with it), and the console goes on in `consoleLog`, after `preface` and what it wrote so far. Both paths must
   * be on the run directory's file system. Throws, having moved nothing, when the rename fails.
   */
  relocate(to: { runDir: string; consoleLog: string; logLimits?: LogLimits; preface?: Buffer }): void {
    this.assertRunning("move the VM");
    if (this.ownsRunDir) throw new InvalidStateError("internal: only a VM given its runDir can move");
    renameSync(this.runDir, to.runDir);
    const moved = (path: string): string => join(to.runDir, path.slice(this.runDir.length + 1));
    const history = moved(this.console.path);
    this.runDir = to.runDir;
    this.qemu.relocate({ qmpSocket: join(to.runDir, QMP_SOCKET), consoleLog: to.consoleLog });
    this.console.moveTo(to.consoleLog, history, to.logLimits, to.preface);
  }

  /**
   * `template.resume` for a VM booted with `restore.deferResume`: it becomes a sandbox of its own (hostname,
   * fresh entropy, the resolv.conf and hosts of `network`). Its start counts from here: a VM that was up and
   * warm before its sandbox asked for it took no time to boot.
   */
  async resumeTemplate(hostname: string, network: NetConfigureMessage | undefined): Promise<void> {
    this.assertRunning("resume a template");
    const started = performance.now();
    await this.resume(hostname, network);
    this.phases = { qemuMs: 0, agentMs: 0, setupMs: performance.now() - started };
  }

  /** QEMU's process id. */
  get pid(): number {
    return this.qemu.pid;
  }

  /** Runs a read-only QMP query (`query-blockstats`...) and resolves with its `return` value (unchecked JSON). */
  async query(command: `query-${string}`): Promise<unknown> {
    this.assertRunning("query QEMU");
    return await this.qemu.query(command);
  }

  /** Resolves when QEMU has exited, for any reason. */
  get exited(): Promise<VmExit> {
    return this.qemu.exited;
  }

  /** Runs a command in the guest and collects its output. */
  async exec(request: ExecRequest): Promise<ExecResult> {
    this.assertRunning("exec");
    if (request.argv.length === 0) throw new InvalidConfigError("argv", "must name a command");
    try {
      return await execCollect(this.agent, request);
    } catch (err) {
      if (this.qemu.exitInfo && !(err instanceof AgentError)) {
        throw this.qemu.exitError("the VM stopped during exec");
      }
      throw err;
    }
  }

  /**
   * Stops the VM: the agent terminates processes, syncs and powers off; if that does not end QEMU within
   * `timeoutMs`, QMP `quit`, then SIGKILL. Always resolves once QEMU is gone.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<VmExit> {
    if (this.state !== "running") return this.finish();
    this.state = "stopping";
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!this.qemu.exitInfo) {
      await this.agent.shutdown().catch(() => undefined);
      if (!(await this.qemu.waitExit(timeoutMs))) {
        await this.qemu.quit().catch(() => undefined);
        if (!(await this.qemu.waitExit(2_000))) this.qemu.kill();
      }
    }
    return this.finish();
  }

  /** Kills QEMU at once (no guest cooperation). */
  async kill(): Promise<VmExit> {
    if (this.state === "running") this.state = "stopping";
    this.qemu.kill();
    return this.finish();
  }

  /**
   * Makes this VM a template: the agent parks (stops reading its connection), the connection is closed, QEMU
   * stops the guest and writes its device state to `statePath` (its RAM is already in the shared `ramFile`),
   * and QEMU is killed. The VM is gone afterwards, whatever happened.
   */
  async saveTemplateState(statePath: string): Promise<void> {
    this.assertRunning("save a template");
    try {
      if (!this.agent.features.has("template")) {
        throw new UnsupportedError("template", { reason: "the guest agent cannot park for a template" });
      }
      await this.setupStep({ type: "template.park" }, "template park");
      this.state = "stopping";
      this.agent.close();
      await this.qemu.withQmp(
        async (qmp) => {
          await saveVmState(qmp, statePath);
        },
        60_000,
        "the template save",
      );
    } finally {
      await this.kill();
    }
  }

  /** `await using` support: shuts the VM down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  private async finish(): Promise<VmExit> {
    const exit = await this.qemu.exited;
    await this.sharesStopped;
    if (this.state !== "stopped") {
      this.state = "stopped";
      this.agent.close();
      if (this.ownsRunDir) rmSync(this.runDir, { recursive: true, force: true });
    }
    return exit;
  }

  private assertRunning(what: string): void {
    if (this.state !== "running") throw new InvalidStateError(`cannot ${what}: the VM is ${this.state}`);
    if (this.qemu.exitInfo) throw this.qemu.exitError(`cannot ${what}`);
  }

  private init(hostname: string, root: RootSpec | undefined, mounts: readonly InitMount[]): Promise<void> {
    return this.setupStep(
      { type: "init", hostname, ...(root ? { root } : {}), ...(mounts.length > 0 ? { mounts } : {}) },
      "guest init",
    );
  }

  /** `template.resume`, with the files of `network` (whose interface the template configured) when given. */
  private async resume(hostname: string, network: NetConfigureMessage | undefined): Promise<void> {
    if (!this.agent.features.has("template")) {
      throw new UnsupportedError("template", { reason: "the guest agent cannot resume a template" });
    }
    const entropy = randomBytes(64).toString("base64");
    const files = network ? { resolvConf: network.resolvConf, hosts: network.hosts } : {};
    await this.setupStep({ type: "template.resume", hostname, entropy, ...files }, "template resume");
  }

  /** Sends a set-up operation (init, net.configure) and waits for its `init.done`. */
  private async setupStep(request: HostMessage, what: string): Promise<void> {
    await this.agent.call(request, (reply) => new AgentError(reply.code, `${what} failed: ${reply.message}`));
  }
}

/** The guest console's log: a size-bounded file that a warm spare's VM moves into its sandbox's logs. */
class ConsoleSink {
  private writer: RotatingWriter;
  private closed = false;

  constructor(
    public path: string,
    limits: LogLimits,
  ) {
    this.writer = new RotatingWriter(path, limits);
  }

  /** Appends console bytes; a full disk loses them rather than the VM. */
  write(chunk: Buffer): void {
    try {
      this.writer.write(chunk);
    } catch (err) {
      // ENOSPC/EIO: the console is best effort; the guest must not die of the host's disk.
      if (!(err instanceof Error)) throw err;
    }
  }

  /**
   * Goes on in `path`: `preface` and the log written so far (now at `history`, its directory moved) are appended
   * there first, and `history` is removed.
   */
  moveTo(path: string, history: string, limits: LogLimits | undefined, preface: Buffer | undefined): void {
    const bound = limits ?? this.writer.limits;
    this.writer.close();
    const earlier = readIfPresent(history);
    rmSync(history, { force: true });
    const head = Buffer.concat([preface ?? Buffer.alloc(0), earlier]);
    if (head.length > 0) appendFileSync(path, head, { mode: 0o600 });
    this.path = path;
    this.writer = new RotatingWriter(path, bound);
    if (this.closed) this.writer.close();
  }

  close(): void {
    this.closed = true;
    this.writer.close();
  }
}

/**
 * What a VM template made with `options` depends on: the QEMU argv it would run with (its own paths replaced by
 * fixed names: devices, memory, CPUs, accelerator, kernel command line), the network its `net.configure` sets up
 * (loopback and the NIC's interface: restored VMs keep them), and the runtime files whose change makes it stale
 * (kernel, initramfs with the agent, QEMU). A template's key hashes all three.
 */
export function templateShape(options: MicroVmOptions): { argv: string[]; network: string; files: string[] } {
  const env = readEnv();
  const home = options.home ?? env.home;
  const artifacts = options.artifacts ?? runtimeArtifacts({ home });
  const accel = options.accel ?? detectAccelerator(hostAccelProbe(env.accel, { home, ...artifacts }));
  const nic = options.network?.nic;
  const canonical: MicroVmOptions = {
    ...options,
    rootDisk: { path: "/template/disk.qcow2", format: "qcow2" },
    ramFile: { path: "/template/ram", shared: false },
    consoleLog: "/template/console.log",
    ...(nic ? { network: { nic: { socketPath: "/template/net.sock", mac: nic.mac } } } : {}),
  };
  const config = vmConfig({
    options: canonical,
    artifacts,
    accel,
    runDir: "/template",
    shares: [],
    guestAslr: env.guestAslr,
  });
  const configure = options.network?.configure;
  return {
    argv: buildQemuArgv(config),
    // The files (resolv.conf, hosts) are each sandbox's own: the resume carries them.
    network: JSON.stringify(configure ? { interface: configure.interface ?? null } : null),
    files: [artifacts.kernel, artifacts.initrd, artifacts.qemuBinary],
  };
}

function rootSpec(disk: VmDisk | undefined): RootSpec {
  if (disk === undefined) throw new InvalidStateError("internal: no root disk in the VM config");
  return { serial: disk.serial, fstype: "ext4", readonly: disk.readonly };
}

function vmConfig(input: {
  options: MicroVmOptions;
  artifacts: RuntimeArtifacts;
  accel: Accelerator;
  runDir: string;
  shares: readonly VmShare[];
  guestAslr: boolean;
}): VmConfig {
  const { options, artifacts, accel, runDir } = input;
  const disks: VmDisk[] = options.rootDisk
    ? [
        {
          id: "root",
          path: options.rootDisk.path,
          format: options.rootDisk.format,
          readonly: options.rootDisk.readonly ?? false,
          serial: "root",
        },
      ]
    : [];
  return {
    arch: artifacts.arch,
    accel,
    cpus: options.cpus ?? 1,
    memoryMib: options.memoryMib ?? 512,
    kernel: artifacts.kernel,
    initrd: artifacts.initrd,
    cmdline: kernelCmdline({
      arch: artifacts.arch,
      accel,
      tscKhz: hostTscKhz(),
      kernelFlavor: artifacts.kernelFlavor,
      guestAslr: input.guestAslr,
    }),
    disks: [...disks, ...extraDisks(options.mounts ?? EMPTY_MOUNT_PLAN)],
    shares: input.shares,
    agentSocket: join(runDir, "agent.sock"),
    qmpSocket: join(runDir, QMP_SOCKET),
    consoleLog: options.consoleLog ?? join(runDir, "console.log"),
    network: options.network?.nic
      ? { kind: "stream", socketPath: options.network.nic.socketPath, mac: options.network.nic.mac }
      : { kind: "none" },
    acpi: artifacts.kernelFlavor !== "microvm",
    ...(options.ramFile ? { ramFile: options.ramFile } : {}),
    ...(options.restore ? { incoming: true } : {}),
  };
}

async function handshake(qemu: QemuProcess, config: VmConfig, timeoutMs: number): Promise<AgentConnection> {
  const socket = await connectAgentSocket(config.agentSocket, qemu, 10_000);
  const abort = new AbortController();
  void qemu.exited.then(() => {
    abort.abort(qemu.exitError("the VM exited during boot"));
  });
  try {
    return await AgentConnection.connect(socket, { timeoutMs, signal: abort.signal });
  } catch (err) {
    // QEMU failing at start-up (no memory for the guest, a bad disk) closes the socket before its exit is
    // reported: its own words say more than "ECONNRESET".
    if (!(err instanceof VmError) && (await qemu.waitExit(QEMU_EXIT_GRACE_MS))) {
      throw qemu.exitError("the VM exited during boot");
    }
    if (err instanceof HandshakeTimeoutError) {
      throw new VmError("MSB_ERR_VM_BOOT_TIMEOUT", `the guest agent did not answer within ${timeoutMs} ms`, {
        cause: err,
        consoleLog: config.consoleLog,
      });
    }
    throw err;
  }
}
