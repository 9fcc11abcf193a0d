/**
 * The sandbox's main process (Docker's entrypoint + cmd): started once at boot, in the background, with its
 * stdout and stderr appended to `main.log` in the run directory. Its exit is logged there; the sandbox keeps
 * running (stop it explicitly). On stop, the supervisor sends it the stop signal and gives it a grace period.
 */
import { createWriteStream } from "node:fs";
import type { AgentConnection } from "../agent-client/connection.js";
import { execStartMessage } from "../agent-client/exec.js";
import type { MainProcessSpec } from "./spec.js";

/** The running main process. */
export interface MainProcess {
  /** Sends guest signal `n` to its process group (nothing once it has ended). */
  signal(n: number): void;
  /** Resolves when it has ended (exited, failed to start, or lost with the agent). */
  readonly ended: Promise<void>;
  /** True once {@link ended} resolved. */
  readonly hasEnded: boolean;
}

/** Starts `spec` on `agent`, logging to `logPath`. */
export function startMainProcess(
  agent: AgentConnection,
  spec: MainProcessSpec,
  logPath: string,
): MainProcess {
  const log = createWriteStream(logPath, { flags: "a" });
  let hasEnded = false;
  let markEnded = (): void => undefined;
  const ended = new Promise<void>((resolve) => {
    markEnded = () => {
      hasEnded = true;
      resolve();
    };
  });
  log.once("close", () => {
    markEnded();
  });
  log.on("error", (err) => {
    process.emitWarning(`main.log: ${err.message}`, { code: "MSB_SUPERVISOR" });
  });
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
  return {
    signal(n) {
      if (!stream.isFinished) stream.send({ type: "exec.signal", signal: n });
    },
    ended,
    get hasEnded() {
      return hasEnded;
    },
  };
}
