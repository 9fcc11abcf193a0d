/**
 * The sandbox's main process (Docker's entrypoint + cmd): started once at boot, in the background, with its
 * stdout and stderr appended to `main.log` in the sandbox's log directory (rotated at the log bound). Its exit is logged there; the sandbox keeps
 * running (stop it explicitly). On stop, the supervisor sends it the stop signal and gives it a grace period.
 */
import type { AgentConnection } from "../agent-client/connection.js";
import { execStartMessage } from "../agent-client/exec.js";
import type { RotatingWriter } from "../logs/rotating-writer.js";
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

/**
 * Appends to the log; a full disk loses output rather than the sandbox (the guest is throttled by credit, not
 * by the host's disk).
 */
function append(log: RotatingWriter, data: string | Uint8Array, failures: { count: number }): void {
  if (log.closed) return;
  try {
    log.write(data);
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    // Said once (then counted): a guest that keeps printing to a full disk must not flood the supervisor's log.
    if (failures.count++ === 0) {
      process.emitWarning(`main.log: output lost: ${err.message}`, { code: "MSB_SUPERVISOR" });
    }
  }
}

/** Starts `spec` on `agent`, logging its output to `log` (a size-bounded file it closes when the process ends). */
export function startMainProcess(
  agent: AgentConnection,
  spec: MainProcessSpec,
  log: RotatingWriter,
): MainProcess {
  const failures = { count: 0 };
  let hasEnded = false;
  let markEnded = (): void => undefined;
  const ended = new Promise<void>((resolve) => {
    markEnded = () => {
      hasEnded = true;
      resolve();
    };
  });
  const end = (line: string): void => {
    append(log, line, failures);
    log.close();
    markEnded();
  };
  const stream = agent.openStream(
    execStartMessage({
      argv: spec.argv,
      env: spec.env,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      ...(spec.user === undefined ? {} : { user: spec.user }),
    }),
    {
      onData(_channel, data) {
        // Written before credit is returned: a guest printing without end goes as fast as the disk, and the
        // rotating log keeps only the newest bytes.
        if (data.length > 0) append(log, data, failures);
        stream.consumed(data.length);
      },
      onMessage(message) {
        if (message.type === "exec.exited") {
          end(`\n[main process exited with code ${message.code}]\n`);
        } else if (message.type === "error") {
          end(`\n[main process failed to start: ${message.message}]\n`);
        }
      },
      onAbort(error) {
        end(`\n[main process lost: ${error.message}]\n`);
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
