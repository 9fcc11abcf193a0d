/**
 * `sandbox.logs()` and `SandboxHandle.logs()` (beyond the seed): a sandbox's logs read from its log directory,
 * so they work while it runs and after it stopped or crashed, until it is removed.
 */
import { InvalidConfigError } from "../errors.js";
import { readLog } from "../logs/read.js";
import { isLogSource, LOG_SOURCES, logPath } from "../logs/sources.js";
import type { LogSource } from "../logs/sources.js";
import { sandboxPaths } from "./context.js";

export type { LogSource } from "../logs/sources.js";

/** Options of `logs()`. */
export interface LogsOptions {
  /**
   * Which log: `"main"` (default: the main process's stdout and stderr), `"console"` (the guest kernel's and
   * agent's console), or `"supervisor"` (the supervisor's JSON lines: `{"time","level","msg","fields"}`).
   */
  readonly source?: LogSource;
  /** Only the last this many lines. Default: everything kept (at most the log bound). */
  readonly tail?: number;
}

/** Checks {@link LogsOptions} from user code. Throws {@link InvalidConfigError}. */
export function validateLogsOptions(options: unknown): { source: LogSource; tail?: number } {
  if (typeof options !== "object" || options === null)
    throw new InvalidConfigError("options", "must be an object");
  const { source, tail } = options as Record<string, unknown>;
  if (source !== undefined && !isLogSource(source)) {
    throw new InvalidConfigError(
      "source",
      `${JSON.stringify(source)} is not one of ${LOG_SOURCES.map((s) => `"${s}"`).join(", ")}`,
    );
  }
  if (tail !== undefined && (typeof tail !== "number" || !Number.isSafeInteger(tail) || tail < 0)) {
    throw new InvalidConfigError("tail", `must be a non-negative integer, got ${JSON.stringify(tail)}`);
  }
  return { source: source ?? "main", ...(tail === undefined ? {} : { tail }) };
}

/** The text of log `options.source` of sandbox `name` under `home` (empty when nothing was written). */
export function readSandboxLogs(home: string, name: string, options: LogsOptions = {}): string {
  const valid = validateLogsOptions(options);
  return readLog(logPath(sandboxPaths(home, name).logDir, valid.source), { tail: valid.tail });
}
