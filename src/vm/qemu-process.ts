/**
 * One running QEMU process. It is started under `setpriv --pdeathsig KILL` where available, so the kernel kills
 * QEMU when its parent dies, however it dies: no QEMU outlives its owner.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { VmError } from "../errors.js";
import { findExecutable } from "../setup/exec.js";
import type { CpuPin } from "./cpu-pin.js";
import { pinnedArgv } from "./cpu-pin.js";
import { KVM_CANNOT_RUN_GUEST, kvmFailureLine } from "./kvm-probe.js";
import { QMP_DISCONNECTED, QmpClient, QmpError } from "./qmp.js";

/**
 * How often a socket QEMU creates at start-up (QMP, the agent's) is tried again while it is missing: QEMU needs
 * ~50 ms to create them, and every millisecond of the wait is on the path of each create.
 */
export const SOCKET_RETRY_MS = 2;

/** How a QEMU process ended. */
export interface VmExit {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last bytes QEMU wrote to stderr (bounded). */
  readonly stderr: string;
  /**
   * QEMU's line saying KVM stopped the guest for good ("KVM internal error..."), when that is why QEMU ended: it
   * was killed then, as the VM could never run again.
   */
  readonly kvmFailure?: string;
}

/** Options of {@link QemuProcess.start}. */
export interface QemuStartOptions {
  /** Absolute path of the QEMU binary. */
  readonly binary: string;
  readonly argv: readonly string[];
  /** Used by error messages. */
  readonly consoleLog: string;
  /** QMP socket path from the config. */
  readonly qmpSocket: string;
  /** Called with each chunk QEMU writes to its stdout (the guest console). */
  readonly onConsole?: (chunk: Buffer) => void;
  /** The host CPU QEMU (all its threads) runs on; the kernel places it when absent. */
  readonly cpuPin?: CpuPin | undefined;
}

const STDERR_LIMIT = 64 * 1024;
/** How much of QEMU's stderr an error carries (`VmError.qemuStderr`). */
const ERROR_STDERR_LIMIT = 4 * 1024;

/** A started QEMU process. */
export class QemuProcess {
  /** Resolves once QEMU has exited (never rejects). */
  readonly exited: Promise<VmExit>;
  private readonly child: ChildProcess;
  /** Where the QMP socket and the console log are: they move with a warm spare's run directory. */
  private paths: { qmpSocket: string; consoleLog: string };
  private exit: VmExit | undefined;

  private constructor(child: ChildProcess, options: QemuStartOptions) {
    this.child = child;
    this.paths = { qmpSocket: options.qmpSocket, consoleLog: options.consoleLog };
    const onConsole = options.onConsole;
    if (onConsole)
      child.stdout?.on("data", (chunk: Buffer) => {
        onConsole(chunk);
      });
    else child.stdout?.resume();
    let stderr = "";
    let kvmFailure: string | undefined;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      // A guest KVM stopped (an instruction a paravirtualised KVM cannot emulate) never runs again, yet QEMU
      // stays up: without this, a boot would wait out its whole handshake timeout, a running sandbox would hang.
      if (kvmFailure === undefined && (kvmFailure = kvmFailureLine(stderr)) !== undefined) {
        child.kill("SIGKILL");
      }
    });
    this.exited = new Promise((resolve) => {
      // "close" comes after "exit" once stdout and stderr are drained: the console's last bytes (a panic) are
      // logged and error messages carry QEMU's words.
      child.once("close", (code, signal) => {
        setImmediate(() => {
          this.exit = { code, signal, stderr, ...(kvmFailure === undefined ? {} : { kvmFailure }) };
          resolve(this.exit);
        });
      });
    });
  }

  /** Spawns QEMU. Throws {@link VmError} `MSB_ERR_VM_START` when the process cannot be created. */
  static async start(options: QemuStartOptions): Promise<QemuProcess> {
    const setpriv = process.platform === "linux" ? findExecutable("setpriv") : undefined;
    const [file = options.binary, ...args] = [
      ...(setpriv ? [setpriv, "--pdeathsig", "KILL", "--"] : []),
      ...pinnedArgv(options.cpuPin, [options.binary, ...options.argv]),
    ];
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => {
        reject(
          new VmError("MSB_ERR_VM_START", `cannot start ${options.binary}: ${err.message}`, { cause: err }),
        );
      });
    });
    return new QemuProcess(child, options);
  }

  /** Process id (QEMU's own: setpriv execs into it). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The exit record, once exited. */
  get exitInfo(): VmExit | undefined {
    return this.exit;
  }

  /**
   * Records that the QMP socket (its directory renamed) and the console log are now at these paths: QMP is
   * connected to anew for every command.
   */
  relocate(paths: { qmpSocket: string; consoleLog: string }): void {
    this.paths = { ...paths };
  }

  /** Sends SIGKILL. Safe to call after exit. */
  kill(): void {
    if (this.exit === undefined) this.child.kill("SIGKILL");
  }

  /** Asks QEMU to quit through QMP (stops the guest at once, without its cooperation). */
  async quit(): Promise<void> {
    if (this.exit) return;
    const qmp = await QmpClient.connect(this.paths.qmpSocket);
    try {
      await qmp.execute("quit").catch((err: unknown) => {
        // QEMU may close the socket before answering `quit`; that is success.
        if (!this.exit && !(err instanceof QmpError && err.qmpClass === QMP_DISCONNECTED)) throw err;
      });
    } finally {
      qmp.close();
    }
  }

  /**
   * Runs one read-only QMP command (`query-blockstats`...) on a connection of its own, closed afterwards: QEMU
   * serves one QMP client at a time, so nothing may hold the socket (shutdown's `quit` needs it). Gives up after
   * `timeoutMs`.
   */
  async query(command: `query-${string}`, timeoutMs = 2000): Promise<unknown> {
    return await this.withQmp(async (qmp) => await qmp.execute(command), timeoutMs, command);
  }

  /**
   * Runs `use` with a QMP connection of its own, closed afterwards (see {@link QemuProcess.query}); gives up
   * after `timeoutMs`, or at once if QEMU exits meanwhile.
   */
  async withQmp<T>(use: (qmp: QmpClient) => Promise<T>, timeoutMs: number, what: string): Promise<T> {
    const connecting = this.connectQmp();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`QMP did not answer ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const qmp = await Promise.race([connecting, timeout]);
      try {
        return await Promise.race([use(qmp), timeout]);
      } finally {
        qmp.close();
      }
    } catch (err) {
      // A connection that comes up after the timeout is closed at once.
      void connecting.then(
        (qmp) => {
          qmp.close();
        },
        () => undefined,
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connects to QMP, waiting while QEMU starts up and has not created its socket yet. */
  private async connectQmp(): Promise<QmpClient> {
    for (;;) {
      try {
        return await QmpClient.connect(this.paths.qmpSocket);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (this.exit || (code !== "ENOENT" && code !== "ECONNREFUSED")) throw err;
        await new Promise((resolve) => setTimeout(resolve, SOCKET_RETRY_MS));
      }
    }
  }

  /** Waits up to `timeoutMs` for exit; resolves true if it exited. */
  async waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>(
      (resolve) =>
        (timer = setTimeout(() => {
          resolve(false);
        }, timeoutMs)),
    );
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** A {@link VmError} describing an unexpected exit. */
  exitError(what: string): VmError {
    const exit = this.exit;
    const how = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : "unknown status";
    const detail = exit?.stderr.trim() ? `: ${exit.stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
    const stderr = exit?.stderr.trim().slice(-ERROR_STDERR_LIMIT);
    const evidence = { consoleLog: this.paths.consoleLog, ...(stderr ? { qemuStderr: stderr } : {}) };
    if (exit?.kvmFailure !== undefined) {
      return new VmError("MSB_ERR_VM_EXITED", `${what}: KVM stopped the guest (${exit.kvmFailure.trim()})`, {
        ...evidence,
        hint: `${KVM_CANNOT_RUN_GUEST}: set MSB_ACCEL=tcg, and see \`msb doctor\``,
      });
    }
    return new VmError("MSB_ERR_VM_EXITED", `${what}: QEMU exited with ${how}${detail}`, evidence);
  }
}
