/**
 * The supervisor process's side of the launch protocol (see `sdk/launch.ts`): spec on stdin, one report line on
 * stdout, the owner pipe on fd 3 in attached mode.
 *
 * @packageDocumentation
 */
import { Socket } from "node:net";
import { parseSpec } from "./spec.js";
import { runSupervisor } from "./supervisor.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Runs a supervisor from this process's stdio; resolves with the exit code. */
export async function superviseFromStdio(): Promise<number> {
  // The launcher may die at any moment (its end of stdout then breaks): the report is best effort, never fatal.
  process.stdout.on("error", (err: Error) => {
    process.emitWarning(`cannot report to the launcher: ${err.message}`, { code: "MSB_SUPERVISOR" });
  });
  const spec = parseSpec(await readStdin());
  const ownerPipe = spec.detached ? undefined : new Socket({ fd: 3, readable: true, writable: false });
  return runSupervisor(spec, {
    report: (report) => {
      process.stdout.write(JSON.stringify(report) + "\n");
    },
    ...(ownerPipe ? { ownerPipe } : {}),
  });
}
