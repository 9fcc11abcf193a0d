/**
 * Spawning supervisors on a creating process's behalf, in the launcher (`launcher-bin.ts`). Node's `spawn` forks,
 * copying the caller's page tables with its event loop stopped: ~30 ms per GiB of RSS. A creator that makes
 * sandboxes again and again starts this small process once, with an IPC channel (`sdk/spawn-remote.ts`); asked
 * there, it spawns a supervisor (a fork of itself instead) and sends the creator the supervisor's stdin, stdout
 * and owner pipe, which the creator then holds as if it had spawned it, and later the supervisor's exit. The
 * launcher keeps no end of those pipes, and exits when its creator is gone.
 *
 * @packageDocumentation
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Socket } from "node:net";
import { readProcStat } from "../os/process-identity.js";

/** What the creator asks: a process to spawn as it would itself (`PendingSupervisor.spawn`). */
export interface SpawnRequest {
  readonly type: "msb.spawn";
  /** The creator's number for this request, echoed in every answer. */
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Appended to by the process's stderr. */
  readonly logFile: string;
}

/**
 * The answers, in this order: `spawned` (pid and start time) with no handle, then one `pipe` message per pipe
 * carrying it (`stdin`, `stdout`, `owner`), then `exited` when the process ends; or `failed` alone.
 */
export type SpawnAnswer =
  | { readonly type: "msb.spawned"; readonly id: number; readonly pid: number; readonly startTime?: number }
  | { readonly type: "msb.pipe"; readonly id: number; readonly pipe: SpawnedPipe }
  | {
      readonly type: "msb.exited";
      readonly id: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
    }
  | { readonly type: "msb.failed"; readonly id: number; readonly message: string };

/** The pipes a spawned supervisor's creator holds, in the order they are sent. */
export const SPAWNED_PIPES = ["stdin", "stdout", "owner"] as const;
/** One of {@link SPAWNED_PIPES}. */
export type SpawnedPipe = (typeof SPAWNED_PIPES)[number];

/** Whether `message` (from the IPC channel: anything) is a {@link SpawnRequest}. */
function isSpawnRequest(message: unknown): message is SpawnRequest {
  if (typeof message !== "object" || message === null) return false;
  const m = message as Record<string, unknown>;
  return (
    m["type"] === "msb.spawn" &&
    typeof m["id"] === "number" &&
    typeof m["file"] === "string" &&
    Array.isArray(m["args"]) &&
    m["args"].every((arg) => typeof arg === "string") &&
    typeof m["cwd"] === "string" &&
    typeof m["logFile"] === "string" &&
    typeof m["env"] === "object" &&
    m["env"] !== null
  );
}

/**
 * Serves spawn requests on this process's IPC channel until its creator is gone, then exits (the processes it
 * spawned live on: they are their creator's). Exits at once without a channel.
 *
 * The creator's end is known gone from stdin, an owner pipe only the creator writes to, not from the channel:
 * node holds back a channel's "disconnect" while a sent handle awaits the other side's acknowledgement, so a
 * creator that died with pipes on their way here would leave this process, and the pipes' far ends, open for
 * good.
 */
export function serveSpawnRequests(): void {
  if (process.channel === undefined || typeof process.send !== "function") process.exit(2);
  process.on("message", (message: unknown) => {
    if (isSpawnRequest(message)) spawnFor(message);
  });
  const creatorGone = (): never => process.exit(0);
  process.on("disconnect", creatorGone);
  process.stdin.on("end", creatorGone).on("error", creatorGone).resume();
}

/** Sends `answer` (with `pipe`, which is closed here once sent or when it cannot be) if the creator is there. */
function answer(message: SpawnAnswer, pipe?: Socket | null): void {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) {
    pipe?.destroy();
    return;
  }
  send(message, pipe ?? undefined, {}, (err: Error | null) => {
    if (err) pipe?.destroy(); // never left open here: the spare would wait for a creator that cannot reach it
  });
}

function spawnFor(request: SpawnRequest): void {
  const { id } = request;
  let log: number;
  try {
    log = openSync(request.logFile, "a");
  } catch (err) {
    answer({ type: "msb.failed", id, message: (err as Error).message });
    return;
  }
  try {
    const child = spawn(request.file, [...request.args], {
      cwd: request.cwd,
      detached: true,
      env: { ...request.env },
      stdio: ["pipe", "pipe", log, "pipe"],
    });
    child.once("error", (err) => {
      if (child.pid === undefined) answer({ type: "msb.failed", id, message: err.message });
    });
    if (child.pid === undefined) return;
    const startTime = readProcStat(child.pid)?.startTime;
    answer({ type: "msb.spawned", id, pid: child.pid, ...(startTime === undefined ? {} : { startTime }) });
    const pipes = { stdin: child.stdin, stdout: child.stdout, owner: child.stdio[3] as Socket | null };
    for (const pipe of SPAWNED_PIPES) answer({ type: "msb.pipe", id, pipe }, pipes[pipe] as Socket | null);
    child.once("exit", (code, signal) => {
      answer({ type: "msb.exited", id, code, signal });
    });
  } finally {
    closeSync(log);
  }
}
