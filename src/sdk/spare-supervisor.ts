/**
 * A supervisor process started ahead of need. Node's start-up and the load of the supervisor bundle (~60 ms, the
 * largest host-side part of a create restored from a template) then happen while this process waits for other
 * things, and the next create hands the spare its spec at once.
 *
 * One spare per process, shared by every copy of the library (it hangs off `process`, like the TCG warning's
 * flag). It is started right after this process's second create and every later one (a CLI command that
 * creates one sandbox never pays for one) and used by the next create of the same home, attached or detached (any
 * other kills it and spawns as before); the creator's environment goes with the spec and replaces the spare's. A
 * spare is spawned with an owner pipe, as an attached sandbox's supervisor is: a detached sandbox's does not read
 * it, and its creator closes its end once the sandbox is ready, so it lives on when its creator exits. It never
 * keeps this process alive (its pipes are unref'd), and when this process exits, however it exits, the spare
 * reads end-of-input, removes its stderr file and exits.
 * `MSB_SPARE_SUPERVISOR=0` turns it off.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { scratchPath } from "../os/scratch-name.js";
import type { WarmHint } from "../supervisor/warm-hint.js";
import { PendingSupervisor, type SpawnOptions } from "./launch.js";
import { processLauncher } from "./spawn-remote.js";

const SPARE = Symbol.for("microsandbox.spareSupervisor");

/** A spare: being spawned (by the launcher: `spawn-remote.ts`), or there. */
interface Spare {
  /** The spare once it is there; undefined while the launcher spawns it. */
  pending?: PendingSupervisor;
  /** Resolves with the spare, or undefined when it could not be spawned. */
  readonly ready: Promise<PendingSupervisor | undefined>;
  readonly key: string;
  readonly stderr: string;
}

/** The creates of this process so far, and its spare. */
interface SpareState {
  creates: number;
  spare?: Spare;
}

function state(): SpareState {
  const holder = process as unknown as Record<symbol, SpareState | undefined>;
  holder[SPARE] ??= { creates: 0 };
  return holder[SPARE];
}

/**
 * What a spare cannot take from its creator later: the home it serves, and the environment node itself reads at
 * start-up (`NODE_*`, `UV_*`). The rest of the environment goes with the spec (`SupervisorSpec.env`).
 */
function keyOf(home: string): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith("NODE_") || key.startsWith("UV_"))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([home, env]);
}

/**
 * The spare, made the supervisor of a new attached sandbox whose stderr file is `logFile`; undefined when there
 * is none or it cannot serve this create (then it is gone, and the caller spawns one as before).
 */
export async function takeSpareSupervisor(
  home: string,
  logFile: string,
): Promise<PendingSupervisor | undefined> {
  const current = state();
  const spare = current.spare;
  delete current.spare;
  const pending = await spare?.ready; // the launcher answers within milliseconds (or fails it after 5 s)
  if (spare === undefined || pending === undefined) return undefined;
  const usable = readEnv().spareSupervisor && spare.key === keyOf(home) && pending.alive;
  if (!usable || existsSync(logFile)) {
    pending.kill();
    rmSync(spare.stderr, { force: true });
    return undefined;
  }
  pending.adopt(logFile);
  return pending;
}

/** This process's spare supervisor, if it has one: its pid and stderr file (diagnostics and tests). */
export function spareSupervisorOf(): { readonly pid: number; readonly stderr: string } | undefined {
  const spare = state().spare;
  const pid = spare?.pending?.pid;
  return spare === undefined || pid === undefined ? undefined : { pid, stderr: spare.stderr };
}

/** {@link spareSupervisorOf} once a spare being spawned is there (its launcher spawns it a moment after a create). */
export async function spareSupervisorReady(): Promise<ReturnType<typeof spareSupervisorOf>> {
  await state().spare?.ready;
  return spareSupervisorOf();
}

/**
 * Counts a successful create and, from the second on, starts a spare for the next one if there is none; told
 * `hint` (the create's image and VM shape), the spare warms a VM of it (`supervisor/spare-vm.ts`).
 */
export function replenishSpareSupervisor(home: string, hint: WarmHint | undefined): void {
  const current = state();
  current.creates += 1;
  if (current.creates < 2 || current.spare !== undefined || !readEnv().spareSupervisor) return;
  const tmpDir = msbPaths(home).tmpDir;
  mkdirSync(tmpDir, { recursive: true });
  const stderr = scratchPath(tmpDir, "spare-supervisor");
  const launcher = processLauncher(false);
  if (launcher === undefined) {
    // The first spare is this process's child, there at once; the launcher it starts now spawns the next ones.
    const pending = PendingSupervisor.spawn({ logFile: stderr, detached: false, spare: true });
    if (hint !== undefined) pending.warm(hint);
    current.spare = { pending, ready: Promise.resolve(pending), key: keyOf(home), stderr };
    processLauncher(true);
    return;
  }
  // The launcher spawns it: this process is spared the fork (see spawn-remote.ts).
  const spare: Spare = {
    key: keyOf(home),
    stderr,
    ready: PendingSupervisor.spawnThrough(launcher, { logFile: stderr, detached: false, spare: true }).then(
      (pending) => {
        if (hint !== undefined) pending.warm(hint);
        spare.pending = pending;
        return pending;
      },
      () => {
        rmSync(stderr, { force: true });
        return undefined; // no spare this time: the next create spawns its supervisor itself
      },
    ),
  };
  current.spare = spare;
}

/**
 * A supervisor for a create or start no spare serves: spawned by this process's launcher when it has one (which
 * spares this process the fork), else by this process.
 */
export async function spawnSupervisor(options: SpawnOptions): Promise<PendingSupervisor> {
  const launcher = processLauncher(false);
  if (launcher !== undefined) {
    try {
      return await PendingSupervisor.spawnThrough(launcher, options);
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      // The launcher is gone or failed it: this process spawns it, as without one.
    }
  }
  return PendingSupervisor.spawn(options);
}
