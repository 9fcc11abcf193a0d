/**
 * The sandbox's main process (Docker's entrypoint + cmd): started once at boot, in the background, with its
 * stdout and stderr appended to `main.log` in the run directory. Its exit is logged there; the sandbox keeps
 * running (stop it explicitly).
 */
import { createWriteStream } from "node:fs";
import type { AgentConnection } from "../agent-client/connection.js";
import { execStartMessage } from "../agent-client/exec.js";
import type { MainProcessSpec } from "./spec.js";

/** Starts `spec` on `agent`, logging to `logPath`. */
export function startMainProcess(agent: AgentConnection, spec: MainProcessSpec, logPath: string): void {
  const log = createWriteStream(logPath, { flags: "a" });
  const stream = agent.openStream(
    execStartMessage({
      argv: spec.argv,
      env: spec.env,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      ...(spec.user === undefined ? {} : { user: spec.user }),
    }),
    {
      onData(_channel, data) {
        if (data.length > 0) log.write(data);
        stream.consumed(data.length);
      },
      onMessage(message) {
        if (message.type === "exec.exited") {
          log.end(`\n[main process exited with code ${message.code}]\n`);
        } else if (message.type === "error") {
          log.end(`\n[main process failed to start: ${message.message}]\n`);
        }
      },
      onAbort(error) {
        log.end(`\n[main process lost: ${error.message}]\n`);
      },
    },
  );
}
