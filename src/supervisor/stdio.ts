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
import { runSupervisor } from "./supervisor.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
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
  const input = await readStdin();
  const spareStderr = process.env[SPARE_STDERR_ENV];
  if (input.length === 0 && spareStderr !== undefined) {
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
      process.on("warning", (warning) => {
        const code = (warning as Error & { code?: unknown }).code;
        logs.logger.warn(warning.message, typeof code === "string" ? { code } : {});
      });
    },
    report: (report) => {
      process.stdout.write(JSON.stringify(report) + "\n");
    },
    ...(ownerPipe ? { ownerPipe } : {}),
  });
}
