/**
 * Supervisors spawned by this process's launcher instead of by this process (see `supervisor/spawn-request.ts`:
 * node's `spawn` forks, and a fork of a large creator stops its event loop ~30 ms per GiB of RSS). A process
 * starts its launcher once it makes sandboxes again and again (with its first spare supervisor); the launcher
 * exits when this process does.
 *
 * @packageDocumentation
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { launcherCommand } from "../supervisor/entry.js";
import type { SpawnAnswer, SpawnedPipe, SpawnRequest } from "../supervisor/spawn-request.js";
import { RemoteChild } from "./supervisor-child.js";

/** How long a launcher may take to answer before the spawn counts as failed. */
const ANSWER_TIMEOUT_MS = 5_000;

const LAUNCHER = Symbol.for("microsandbox.launcher");

/** A request on its way: what has arrived so far. */
interface InFlight {
  pid?: number;
  startTime?: number;
  readonly pipes: Partial<Record<SpawnedPipe, Socket>>;
  readonly resolve: (child: RemoteChild) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The launcher's requests and the children it spawned, by request id. */
interface LauncherState {
  readonly inFlight: Map<number, InFlight>;
  readonly children: Map<number, RemoteChild>;
  /** The launcher exited or disconnected: its children's exits will not be reported. */
  gone: boolean;
}

/** This process's launcher (shared by every copy of the library, like the spare: see spare-supervisor.ts). */
interface LauncherSlot {
  current?: { readonly child: ChildProcess; readonly state: LauncherState };
  nextId: number;
}

function slot(): LauncherSlot {
  const holder = process as unknown as Record<symbol, LauncherSlot | undefined>;
  holder[LAUNCHER] ??= { nextId: 1 };
  return holder[LAUNCHER];
}

/**
 * This process's launcher, started now when it has none and `start` is set (the one fork of this process it
 * costs); undefined when there is none or it cannot be started. It never keeps this process alive.
 */
export function processLauncher(start: boolean): ChildProcess | undefined {
  const launcher = slot();
  if (launcher.current?.child.connected === true) return launcher.current.child;
  delete launcher.current;
  if (!start) return undefined;
  const command = launcherCommand();
  // Only what node needs: the environment of each process it spawns comes with the request.
  const env: Record<string, string> = {};
  for (const key of ["PATH", "NODE_OPTIONS", "NODE_PATH"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    detached: true,
    env,
    // stdin: the launcher's owner pipe, whose end only this process holds (see spawn-request.ts).
    stdio: ["pipe", "ignore", "ignore", "ipc"],
  });
  child.once("error", () => undefined); // a failed spawn: the requests fail, and creates spawn for themselves
  if (child.pid === undefined || child.channel == null) return undefined;
  const state: LauncherState = { inFlight: new Map(), children: new Map(), gone: false };
  launcher.current = { child, state };
  child.on("message", (message: SpawnAnswer, handle?: Socket) => {
    onAnswer(state, message, handle);
  });
  child.unref();
  child.channel.unref();
  const ownerPipe = child.stdin as Socket | null;
  ownerPipe?.on("error", () => undefined); // a launcher gone: its requests fail on their own
  ownerPipe?.unref();
  const gone = (): void => {
    if (state.gone) return;
    state.gone = true;
    if (launcher.current?.child === child) delete launcher.current;
    for (const request of state.inFlight.values()) fail(request, new Error("the launcher is gone"));
    state.inFlight.clear();
    // Its children's exits will not be reported: one whose stdout ended has exited; the others when it ends.
    for (const child of state.children.values()) if (child.stdout.readableEnded) child.exited(null, null);
  };
  child.once("disconnect", gone);
  child.once("exit", gone);
  return child;
}

/** This process's launcher's pid, if it has one (diagnostics and tests). */
export function launcherPid(): number | undefined {
  return slot().current?.child.pid;
}

function fail(request: InFlight, err: Error): void {
  clearTimeout(request.timer);
  for (const pipe of Object.values(request.pipes)) pipe.destroy();
  request.reject(err);
}

function onAnswer(state: LauncherState, message: SpawnAnswer, handle: Socket | undefined): void {
  if (message.type === "msb.exited") {
    const child = state.children.get(message.id);
    state.children.delete(message.id);
    child?.exited(message.code, message.signal);
    return;
  }
  const request = state.inFlight.get(message.id);
  if (request === undefined) {
    handle?.destroy(); // an answer to a request given up on
    return;
  }
  if (message.type === "msb.failed") {
    state.inFlight.delete(message.id);
    fail(request, new Error(message.message));
    return;
  }
  if (message.type === "msb.spawned") {
    request.pid = message.pid;
    if (message.startTime !== undefined) request.startTime = message.startTime;
    return;
  }
  if (handle === undefined) {
    state.inFlight.delete(message.id);
    fail(request, new Error(`the launcher sent no ${message.pipe} pipe`));
    return;
  }
  request.pipes[message.pipe] = handle;
  const { stdin, stdout, owner } = request.pipes;
  if (request.pid === undefined || stdin === undefined || stdout === undefined || owner === undefined) return;
  state.inFlight.delete(message.id);
  clearTimeout(request.timer);
  const child = new RemoteChild({ pid: request.pid, startTime: request.startTime, stdin, stdout, owner });
  state.children.set(message.id, child);
  stdout.once("end", () => {
    if (state.gone) child.exited(null, null);
  });
  request.resolve(child);
}

/** Asks `launcher` to spawn a process as `request` says; resolves with it once its pipes are here. */
export function spawnRemote(
  launcher: ChildProcess,
  request: Omit<SpawnRequest, "type" | "id">,
): Promise<RemoteChild> {
  const current = slot().current;
  if (current === undefined || current.child !== launcher || !launcher.connected) {
    return Promise.reject(new Error("the launcher is gone"));
  }
  const { state } = current;
  const id = slot().nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const pending = state.inFlight.get(id);
      state.inFlight.delete(id);
      if (pending) fail(pending, new Error(`the launcher did not answer in ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    timer.unref();
    state.inFlight.set(id, { pipes: {}, resolve, reject, timer });
    launcher.send({ type: "msb.spawn", id, ...request } satisfies SpawnRequest, (err: Error | null) => {
      const pending = state.inFlight.get(id);
      if (err && pending) {
        state.inFlight.delete(id);
        fail(pending, err);
      }
    });
  });
}
