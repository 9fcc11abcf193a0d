/**
 * The supervisor process's side of the launch protocol (see `sdk/launch.ts`): spec on stdin, one report line on
 * stdout, the owner pipe on fd 3 in attached mode.
 *
 * @packageDocumentation
 */
import { fstatSync, ftruncateSync, rmSync } from "node:fs";
import { Socket } from "node:net";
import { readEnv } from "../config/env.js";
import { parseSpec, SPARE_STDERR_ENV } from "./spec.js";
import { SpareVm } from "./spare-vm.js";
import { readLaunchInput } from "./launch-input.js";
import { sameHint } from "./warm-hint.js";
import type { WarmHint } from "./warm-hint.js";
import { runSupervisor } from "./supervisor.js";

/** How long a warm spare VM waits for its create before it is shut down (the spare supervisor stays). */
const SPARE_VM_IDLE_MS = 60_000;

/** The warming of a spare VM, from a hint to the spec (or to this process's end). */
class SpareWarming {
  #hint: WarmHint | undefined;
  #vm: Promise<SpareVm | undefined> = Promise.resolve(undefined);
  #idle: NodeJS.Timeout | undefined;
  /** Why the spare was not made (reported in the sandbox's log once it has one). */
  failure: unknown;

  start(hint: WarmHint): void {
    if (!readEnv().spareVm) return;
    this.#hint = hint;
    this.#vm = SpareVm.warm(hint).then(
      (spare) => {
        // An unused spare VM does not stay: an idle VM still costs the host memory and CPU.
        this.#idle = setTimeout(() => {
          void spare?.discard();
        }, SPARE_VM_IDLE_MS);
        this.#idle.unref();
        return spare;
      },
      (err: unknown) => {
        this.failure = err;
        return undefined;
      },
    );
  }

  /** Discards the spare VM, once its warming is over (this process's creator ended without using it). */
  async discard(): Promise<void> {
    clearTimeout(this.#idle);
    await (await this.#vm)?.discard();
  }

  /**
   * The spare VM, once warm, for a sandbox of `hint` (undefined: none was asked for, none could be made, it was
   * retired, or it is of another image or shape: then it is discarded, without waiting for it to be warm).
   */
  async take(hint: WarmHint | undefined): Promise<SpareVm | undefined> {
    if (this.#hint !== undefined && (hint === undefined || !sameHint(hint, this.#hint))) {
      void this.#vm.then((spare) => spare?.discard());
      return undefined;
    }
    const spare = await this.#vm;
    clearTimeout(this.#idle);
    return spare;
  }
}

/**
 * Our stderr is a file (see `sdk/launch.ts`) that only Node's own fatal output reaches; it is appended to by
 * every start of the sandbox, so it is emptied here when it has grown past the log bound.
 */
function boundStderr(): void {
  const stat = fstatSync(2);
  if (stat.isFile() && stat.size > readEnv().logLimits.maxBytes) ftruncateSync(2, 0);
}

/** Makes `env` this process's environment (a spare's, started before its creator's create). */
function adoptEnvironment(env: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(process.env)) {
    if (!(key in env)) Reflect.deleteProperty(process.env, key);
  }
  Object.assign(process.env, env);
}

/** Runs a supervisor from this process's stdio; resolves with the exit code. */
export async function superviseFromStdio(): Promise<number> {
  // The launcher may die at any moment (its end of stdout then breaks): the report is best effort, never fatal.
  process.stdout.on("error", (err: Error) => {
    process.emitWarning(`cannot report to the launcher: ${err.message}`, { code: "MSB_SUPERVISOR" });
  });
  // Warnings before the sandbox's logs are open (a spare's: the TCG warning of its warm VM) wait for them.
  const early: Error[] = [];
  const queue = (warning: Error): void => {
    early.push(warning);
  };
  process.on("warning", queue);
  const warming = new SpareWarming();
  const input = await readLaunchInput(process.stdin as AsyncIterable<Buffer>, (hint) => {
    warming.start(hint);
  });
  const spareStderr = process.env[SPARE_STDERR_ENV];
  if (input.length === 0 && spareStderr !== undefined) {
    await warming.discard();
    rmSync(spareStderr, { force: true }); // a spare whose creator never used it
    return 0;
  }
  const spec = parseSpec(input);
  if (spec.env !== undefined) adoptEnvironment(spec.env);
  boundStderr();
  const ownerPipe = spec.detached ? undefined : new Socket({ fd: 3, readable: true, writable: false });
  return runSupervisor(spec, {
    // Process warnings (TCG, a misbehaving client) go to the supervisor's log, not to stderr.
    onLogs: (logs) => {
      const log = (warning: Error): void => {
        const code = (warning as Error & { code?: unknown }).code;
        logs.logger.warn(warning.message, typeof code === "string" ? { code } : {});
      };
      process.off("warning", queue);
      for (const warning of early.splice(0)) log(warning);
      process.on("warning", log);
    },
    report: (report) => {
      process.stdout.write(JSON.stringify(report) + "\n");
    },
    ...(ownerPipe ? { ownerPipe } : {}),
    spare: async (hint) => ({ vm: await warming.take(hint), failure: warming.failure }),
  });
}
