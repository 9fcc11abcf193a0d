/**
 * Collected execution: run a command in the guest and gather its whole output, bounded by `maxOutputBytes`.
 */
import type { MsbError } from "../errors.js";
import { AgentError, CommandNotFoundError, OutputLimitError } from "../errors.js";
import type { AgentMessage, ExecStdinMode } from "../protocol/messages.js";
import type { AgentConnection } from "./connection.js";

/** What to run. */
export interface ExecRequest {
  /** Program and arguments; `argv[0]` without `/` is looked up in the guest `PATH`. */
  readonly argv: readonly string[];
  /** Extra environment variables (override the agent's defaults). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory in the guest; default: the user's home, else `/`. */
  readonly cwd?: string;
  /** `name`, `uid`, `uid:gid` or `name:group`; default `root`. */
  readonly user?: string;
  /** Kill the process group after this many milliseconds (0 or absent: no limit). */
  readonly timeoutMs?: number;
  /** Bytes to feed on standard input (then EOF). Without it the process reads /dev/null. */
  readonly stdin?: Buffer | string;
  /** Fail with {@link OutputLimitError} when stdout + stderr exceed this. Default 256 MiB. */
  readonly maxOutputBytes?: number;
}

/** Result of a finished command. */
export interface ExecResult {
  /** Exit status; 128 + n when killed by signal n. */
  readonly code: number;
  /** Signal that killed the process, 0 if it exited. */
  readonly signal: number;
  /** True when `timeoutMs` expired and the agent killed the process. */
  readonly timedOut: boolean;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

const DEFAULT_MAX_OUTPUT = 256 * 1024 * 1024;

/** Maps an agent `error` message of an exec to the typed error users catch. */
export function execError(argv0: string, message: Extract<AgentMessage, { type: "error" }>): MsbError {
  if (message.code === "ENOENT" && message.message.startsWith("command not found")) {
    return new CommandNotFoundError(argv0, message.message);
  }
  return new AgentError(message.code, `exec ${argv0}: ${message.message}`);
}

/** Runs `request` on `connection` and resolves when the process exited and all output arrived. */
export function execCollect(connection: AgentConnection, request: ExecRequest): Promise<ExecResult> {
  const limit = request.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const argv0 = request.argv[0] ?? "";
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let total = 0;
    let failed = false;
    const stream = connection.openStream({
      onData(channel, data) {
        if (failed) return;
        total += data.length;
        if (total > limit) {
          failed = true;
          stream.send({ type: "exec.signal", signal: 9 });
          reject(new OutputLimitError(limit));
          return;
        }
        (channel === "stdout" ? out : err).push(data);
        stream.consumed(data.length);
      },
      onMessage(message) {
        if (failed) return;
        if (message.type === "exec.exited") {
          resolve({
            code: message.code,
            signal: message.signal,
            timedOut: message.timedOut,
            stdout: Buffer.concat(out),
            stderr: Buffer.concat(err),
          });
        } else if (message.type === "error") {
          reject(execError(argv0, message));
        }
      },
      onAbort(error) {
        if (!failed) reject(error);
      },
    });
    const stdinMode: ExecStdinMode = request.stdin === undefined ? "null" : "pipe";
    stream.send({
      type: "exec.start",
      argv: request.argv,
      env: request.env ?? {},
      ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
      ...(request.user === undefined ? {} : { user: request.user }),
      timeoutMs: request.timeoutMs ?? 0,
      stdin: stdinMode,
    });
    if (request.stdin !== undefined) {
      const input = typeof request.stdin === "string" ? Buffer.from(request.stdin) : request.stdin;
      stream.write(input).then(
        () => {
          stream.endInput();
        },
        (e: unknown) => {
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    }
  });
}
