/**
 * A supervisor process as its creator holds it: its stdin, stdout and owner pipe, its exit, and a way to kill it.
 * Either this process spawned it (a `ChildProcess`), or its launcher did on its behalf and sent the pipes here
 * (`spawn-remote.ts`, `supervisor/spawn-request.ts`): then its exit comes as the launcher's message, and it is
 * signalled by pid and start time, never by pid alone.
 *
 * @packageDocumentation
 */
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { signalProcess } from "../os/process-identity.js";

/** A spawned supervisor, however it was spawned. */
export interface SupervisorChild {
  /** Undefined when the spawn failed. */
  readonly pid: number | undefined;
  readonly stdin: Socket | null;
  readonly stdout: Socket | null;
  /** The owner pipe (fd 3 in the supervisor); null for a detached sandbox's, spawned without one. */
  readonly owner: Socket | null;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  /** Calls `listener` once the process has exited (or could not be spawned). */
  onExit(listener: () => void): void;
  /** Calls `listener` with a spawn failure (ENOENT, EAGAIN...). */
  onError(listener: (err: Error) => void): void;
  kill(): void;
  /** Whether the process and its pipes keep this process's event loop alive. */
  holdLoop(on: boolean): void;
}

/** A supervisor this process spawned. */
export function localChild(child: ChildProcess): SupervisorChild {
  const owner = (): Socket | null => (child.stdio[3] ?? null) as Socket | null;
  return {
    get pid() {
      return child.pid;
    },
    stdin: child.stdin as Socket | null,
    stdout: child.stdout as Socket | null,
    get owner() {
      return owner();
    },
    get exitCode() {
      return child.exitCode;
    },
    get signalCode() {
      return child.signalCode;
    },
    onExit(listener) {
      child.once("exit", () => {
        listener();
      });
    },
    onError(listener) {
      child.once("error", listener);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    holdLoop(on) {
      for (const handle of [child.stdin, child.stdout, owner()] as (Socket | null)[]) {
        if (on) handle?.ref();
        else handle?.unref();
      }
      if (on) child.ref();
      else child.unref();
    },
  };
}

/** A supervisor the launcher spawned for this process: its pipes, and its exit as the launcher reports it. */
export class RemoteChild implements SupervisorChild {
  readonly pid: number;
  readonly #startTime: number | undefined;
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly owner: Socket;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  #exited = false;
  readonly #onExit: (() => void)[] = [];

  constructor(parts: {
    readonly pid: number;
    readonly startTime: number | undefined;
    readonly stdin: Socket;
    readonly stdout: Socket;
    readonly owner: Socket;
  }) {
    this.pid = parts.pid;
    this.#startTime = parts.startTime;
    this.stdin = parts.stdin;
    this.stdout = parts.stdout;
    this.owner = parts.owner;
    // These are socket pairs, not pipes: one the process closes with data unread (a spec it never read) says
    // ECONNRESET here. Either way the process is gone, which its exit (or the report's absence) tells.
    for (const socket of [this.stdin, this.stdout, this.owner]) socket.on("error", ignoreSocketError);
  }

  /**
   * The process has exited: with `code` or `signal` as its spawner reported, or unknown (both null) when the
   * spawner is gone and the process's stdout has closed.
   */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    for (const listener of this.#onExit.splice(0)) listener();
  }

  onExit(listener: () => void): void {
    if (this.#exited) listener();
    else this.#onExit.push(listener);
  }

  onError(): void {
    // Spawned already: a spawn failure was its spawner's answer, and no RemoteChild was made.
  }

  kill(): void {
    if (!this.#exited) signalProcess({ pid: this.pid, startTime: this.#startTime }, "SIGKILL");
  }

  holdLoop(on: boolean): void {
    for (const handle of [this.stdin, this.stdout, this.owner]) {
      if (on) handle.ref();
      else handle.unref();
    }
  }
}

/** See the {@link RemoteChild} constructor. */
function ignoreSocketError(): void {
  // The socket is closed by the error; nothing else to do.
}
