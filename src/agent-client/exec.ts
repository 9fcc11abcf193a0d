/**
 * Execution requests and collected execution: run a command in the guest and gather its whole output, bounded
 * by `maxOutputBytes`.
 */
import { OutputLimitError } from "../errors.js";
import type { ExecStartMessage, TtySize } from "../protocol/messages.js";
import type { AgentConnection } from "./connection.js";
import { ExecChannel } from "./exec-channel.js";

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
  /**
   * Standard input: bytes to feed (then EOF), `"pipe"` (the caller writes it), or absent / `"null"` (the
   * process reads /dev/null).
   */
  readonly stdin?: Buffer | "pipe" | "null";
  /** Run on a pseudo-terminal of this size (stdout and stderr merged, as on a terminal). */
  readonly tty?: TtySize;
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

/** Default bound on collected output. */
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** The `exec.start` message of `request`. */
export function execStartMessage(request: ExecRequest): ExecStartMessage {
  return {
    type: "exec.start",
    argv: request.argv,
    env: request.env ?? {},
    ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
    ...(request.user === undefined ? {} : { user: request.user }),
    timeoutMs: request.timeoutMs ?? 0,
    stdin: request.stdin === undefined || request.stdin === "null" ? "null" : "pipe",
    ...(request.tty === undefined ? {} : { tty: request.tty }),
  };
}

/**
 * Starts `request` on `connection`. Bytes given as `stdin` are fed (then EOF) in the background; with
 * `"pipe"` the caller writes through the channel.
 */
export function startExec(connection: AgentConnection, request: ExecRequest): ExecChannel {
  const channel = ExecChannel.open(connection, execStartMessage(request));
  if (Buffer.isBuffer(request.stdin)) {
    // A write that fails ends with the stream, whose own error the reader gets.
    void channel.write(request.stdin).then(
      () => channel.endInput(),
      () => undefined,
    );
  }
  return channel;
}

/** Reads `channel` to its end, gathering output up to `limit` bytes (then cancels it: OutputLimitError). */
export async function collectExec(
  channel: ExecChannel,
  limit = DEFAULT_MAX_OUTPUT_BYTES,
): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let total = 0;
  for (let event = await channel.next(); event !== null; event = await channel.next()) {
    if (event.eventType === "stdout" || event.eventType === "stderr") {
      total += event.data.length;
      if (total > limit) {
        channel.cancel();
        throw new OutputLimitError(limit);
      }
      (event.eventType === "stdout" ? out : err).push(event.data);
    }
  }
  const exit = channel.exit;
  if (exit === undefined) throw new Error("exec stream ended without an exit");
  return {
    code: exit.code,
    signal: exit.signal,
    timedOut: exit.timedOut,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err),
  };
}

/**
 * Runs `request` on `connection` and resolves when the process exited and all output arrived. Nobody can write
 * the stdin of a collected exec, so `"pipe"` is empty input (the process reads EOF at once).
 */
export function execCollect(connection: AgentConnection, request: ExecRequest): Promise<ExecResult> {
  try {
    const collected = request.stdin === "pipe" ? { ...request, stdin: Buffer.alloc(0) } : request;
    return collectExec(startExec(connection, collected), request.maxOutputBytes);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
