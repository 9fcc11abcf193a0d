/**
 * Starts a sandbox's supervisor process and waits for its ready report. The process is spawned first and gets
 * its spec when the creator has it ready, so the two start up side by side. The spec travels on stdin (never argv);
 * stderr goes to `logs/supervisor.stderr.log` in the sandbox directory (its own log is `logs/supervisor.log`,
 * and errors name that directory); in attached mode fd 3 is the owner pipe, whose far end only this process
 * holds, so the supervisor sees it close when we die, however we die. This process spawns it, or has its launcher
 * spawn it and hand over those pipes (`spawn-remote.ts`, `supervisor-child.ts`): the same from here on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fstatSync, openSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { VmError } from "../errors.js";
import { readTail } from "../logs/read.js";
import { readProcStat } from "../os/process-identity.js";
import { supervisorCommand } from "../supervisor/entry.js";
import { SPARE_STDERR_ENV } from "../supervisor/spec.js";
import type { SupervisorReport, SupervisorSpec } from "../supervisor/spec.js";
import type { WarmHint } from "../supervisor/warm-hint.js";
import { fromWireError } from "../wire-error.js";
import { spawnRemote } from "./spawn-remote.js";
import { localChild } from "./supervisor-child.js";
import type { SupervisorChild } from "./supervisor-child.js";

/** How much of a dead supervisor's stderr is read for the last line it wrote. */
const STDERR_TAIL_BYTES = 4096;
/** The longest piece of that line quoted in the error. */
const STDERR_QUOTE_CHARS = 300;

/**
 * What a supervisor that died before its report last wrote to `stderrFile` after offset `from` (node's own words
 * when it refused to start, an uncaught error's message), cut to {@link STDERR_QUOTE_CHARS}: its last line that is
 * not a stack frame or node's version banner. Undefined when there is none, or the file cannot be read (the error
 * names it anyway).
 */
function lastWords(stderrFile: string, from: number): string | undefined {
  let tail: string;
  try {
    const written = statSync(stderrFile).size - from;
    tail = written > 0 ? readTail(stderrFile, Math.min(written, STDERR_TAIL_BYTES)) : "";
  } catch (err) {
    if (err instanceof Error) return undefined;
    throw err;
  }
  const line = tail
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("at ") && !/^Node\.js v\d/.test(l))
    .at(-1);
  return line?.slice(0, STDERR_QUOTE_CHARS);
}

/** This process's environment, without unset entries. */
function currentEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

/** A started supervisor. */
export interface LaunchedSupervisor {
  readonly pid: number;
  readonly qemuPid: number;
  readonly bootMs: number;
  /** Warnings the supervisor logged while booting. */
  readonly warnings: readonly string[];
}

/** Options of {@link PendingSupervisor.spawn}. */
export interface SpawnOptions {
  readonly logFile: string;
  readonly detached: boolean;
  readonly spare?: boolean;
}

/**
 * A supervisor process spawned before its spec is ready: node's start-up (~0.2 s) overlaps the creator's own
 * preparation (root disk overlay, defaults). {@link start} sends the spec and waits for the ready report.
 */
export class PendingSupervisor {
  readonly #child: SupervisorChild;
  #logFile: string;
  /** How long its stderr file was when it was spawned: what follows is this process's. */
  readonly #stderrFrom: number;
  /** Started ahead as a spare (see `spare-supervisor.ts`). */
  #spare = false;
  /** A spawn failure (ENOENT, EAGAIN...) that happened before {@link start} listened. */
  #spawnError: Error | undefined;
  /** Resolves when the process has exited (or could not be spawned). */
  readonly exited: Promise<void>;

  private constructor(child: SupervisorChild, logFile: string, stderrFrom: number, spare: boolean) {
    this.#child = child;
    this.#logFile = logFile;
    this.#stderrFrom = stderrFrom;
    this.exited = new Promise((resolve) => {
      child.onExit(resolve);
      child.onError((err) => {
        this.#spawnError = err;
        if (child.pid === undefined) resolve();
      });
    });
    if (spare) {
      this.#spare = true;
      child.holdLoop(false);
    }
  }

  /**
   * Spawns the supervisor process; it waits for its spec on stdin. A `spare` (see `spare-supervisor.ts`) does not
   * keep this process alive, and exits quietly, removing `logFile`, if this process ends without using it.
   */
  static spawn(options: SpawnOptions): PendingSupervisor {
    const command = supervisorCommand();
    const log = openSync(options.logFile, "a");
    try {
      // Measured before the spawn: a process that dies at once (node refusing its NODE_OPTIONS) writes at once.
      const stderrFrom = fstatSync(log).size;
      const child: ChildProcess = spawn(command.file, command.args, {
        cwd: command.cwd,
        detached: true,
        stdio: ["pipe", "pipe", log, options.detached ? "ignore" : "pipe"],
        ...(options.spare === true ? { env: { ...process.env, [SPARE_STDERR_ENV]: options.logFile } } : {}),
      });
      const pending = new PendingSupervisor(
        localChild(child),
        options.logFile,
        stderrFrom,
        options.spare === true,
      );
      return pending;
    } finally {
      closeSync(log);
    }
  }

  /**
   * A supervisor spawned by `launcher`, this process's launcher (see `spawn-remote.ts`), on this process's behalf:
   * this process is spared the fork. Rejects when the launcher cannot. It always has an owner pipe (a detached
   * sandbox's is closed here once it is ready, as a spare's is).
   */
  static async spawnThrough(launcher: ChildProcess, options: SpawnOptions): Promise<PendingSupervisor> {
    const command = supervisorCommand();
    const spare = options.spare === true;
    const env = spare ? { ...currentEnv(), [SPARE_STDERR_ENV]: options.logFile } : currentEnv();
    // A sandbox's file grows with each of its starts; a spare's is made by the launcher.
    const stderrFrom = statSync(options.logFile, { throwIfNoEntry: false })?.size ?? 0;
    const child = await spawnRemote(launcher, { ...command, env, logFile: options.logFile });
    return new PendingSupervisor(child, options.logFile, stderrFrom, spare);
  }

  /** Whether the process is still there to be handed a spec. */
  get alive(): boolean {
    const pid = this.#child.pid;
    if (pid === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null) return false;
    // Node learns of an exit only when its loop gets to the SIGCHLD: a process that died since is a zombie.
    const stat = readProcStat(pid);
    if (stat === undefined) return process.platform !== "linux"; // gone (Linux), or no procfs to ask
    return stat.state !== "Z" && stat.state !== "X";
  }

  /**
   * Makes a spare this sandbox's supervisor: its stderr file moves to `logFile` (a rename on the same file
   * system: the open file goes with it) and it holds this process's event loop again until it is ready.
   */
  adopt(logFile: string): void {
    renameSync(this.#logFile, logFile);
    this.#logFile = logFile;
    this.#child.holdLoop(true);
  }

  /** The process id (undefined if the spawn failed). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Tells a spare which VM to warm (see `supervisor/spare-vm.ts`): a line before the spec. At most once, before
   * {@link start}.
   */
  warm(hint: WarmHint): void {
    this.#child.stdin?.write(JSON.stringify({ warm: hint }) + "\n");
  }

  /** Sends `spec`; resolves once the supervisor reports ready, rejects (and kills it) otherwise. */
  async start(spec: SupervisorSpec): Promise<LaunchedSupervisor> {
    const child = this.#child;
    if (this.#spawnError !== undefined) throw this.#spawnError;
    // A spare started before this create, with the environment of then: it takes this process's as it is now.
    const sent: SupervisorSpec = this.#spare ? { ...spec, env: currentEnv() } : spec;
    // A process that died (node refusing its NODE_OPTIONS, say) breaks the pipe: its exit, below, says why.
    child.stdin?.once("error", () => undefined);
    child.stdin?.end(JSON.stringify(sent));
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    let awaitingReport = true;
    try {
      const report = await new Promise<SupervisorReport>((resolve, reject) => {
        lines.once("line", (line) => {
          try {
            resolve(JSON.parse(line) as SupervisorReport);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        // `exited` has watched the process since its spawn: an exit before this create got here is not missed.
        void this.exited.then(() => {
          if (awaitingReport) reject(this.#diedBeforeReady());
        });
        child.onError(reject);
      }).finally(() => {
        awaitingReport = false;
      });
      // The supervisor's error with its class and fields (a PortInUseError stays one); the log path is added to
      // its hint, and so to its message.
      if (!report.ready) throw fromWireError(report.error, { extraHint: `see ${this.#logs()}` });
      lines.close();
      child.stdout?.destroy();
      // The owner pipe: an attached sandbox's supervisor watches it (this process's end closes when it exits); a
      // detached one, on a spare spawned with the pipe, does not read it, and this end is closed now.
      const owner = child.owner;
      if (spec.detached) owner?.destroy();
      child.holdLoop(false);
      return {
        pid: report.pid,
        qemuPid: report.qemuPid,
        bootMs: report.bootMs,
        warnings: report.warnings ?? [],
      };
    } catch (err) {
      this.kill();
      throw err;
    }
  }

  /** Where the sandbox's supervisor logs are, for errors' hints. */
  #logs(): string {
    return `the logs in ${dirname(this.#logFile)}`;
  }

  /** The error of a supervisor that exited before its report, with the last line it (or node) wrote to stderr. */
  #diedBeforeReady(): VmError {
    const child = this.#child;
    const said = lastWords(this.#logFile, this.#stderrFrom);
    return new VmError(
      "MSB_ERR_VM_START",
      `the supervisor exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready${said ? `: ${said}` : ""}`,
      { hint: `see ${this.#logs()}` },
    );
  }

  /** Kills the process (a create that failed before or during start). */
  kill(): void {
    this.#child.kill();
  }
}
