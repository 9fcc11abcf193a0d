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
import { PendingSupervisor } from "./launch.js";

const SPARE = Symbol.for("microsandbox.spareSupervisor");

/** The creates of this process so far, and its spare. */
interface SpareState {
  creates: number;
  spare?: { readonly pending: PendingSupervisor; readonly key: string; readonly stderr: string };
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
export function takeSpareSupervisor(home: string, logFile: string): PendingSupervisor | undefined {
  const current = state();
  const spare = current.spare;
  delete current.spare;
  if (spare === undefined) return undefined;
  const usable = readEnv().spareSupervisor && spare.key === keyOf(home) && spare.pending.alive;
  if (!usable || existsSync(logFile)) {
    spare.pending.kill();
    rmSync(spare.stderr, { force: true });
    return undefined;
  }
  spare.pending.adopt(logFile);
  return spare.pending;
}

/** This process's spare supervisor, if it has one: its pid and stderr file (diagnostics and tests). */
export function spareSupervisorOf(): { readonly pid: number; readonly stderr: string } | undefined {
  const spare = state().spare;
  const pid = spare?.pending.pid;
  return spare === undefined || pid === undefined ? undefined : { pid, stderr: spare.stderr };
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
  const pending = PendingSupervisor.spawn({ logFile: stderr, detached: false, spare: true });
  if (hint !== undefined) pending.warm(hint);
  current.spare = { pending, key: keyOf(home), stderr };
}
