/** The logs a sandbox keeps, all in its log directory (`<home>/sandboxes/<name>/logs`), each rotated. */
import { join } from "node:path";

/** Which log: the main process's output, the guest console, or the supervisor's own JSON lines. */
export type LogSource = "main" | "console" | "supervisor";

/** Every {@link LogSource}. */
export const LOG_SOURCES: readonly LogSource[] = Object.freeze(["main", "console", "supervisor"]);

/** File name of each source's live log (rotated ones add `.1`, `.2`...). */
export const LOG_FILE_NAMES: Readonly<Record<LogSource, string>> = Object.freeze({
  main: "main.log",
  console: "console.log",
  supervisor: "supervisor.log",
});

/**
 * File that receives the supervisor process's stderr: only what Node itself prints when the process dies of an
 * uncaught error (everything else goes to `supervisor.log`). The supervisor empties it at start when it has
 * grown past the log bound.
 */
export const SUPERVISOR_STDERR_NAME = "supervisor.stderr.log";

/** Path of `source`'s live log in `logDir`. */
export function logPath(logDir: string, source: LogSource): string {
  return join(logDir, LOG_FILE_NAMES[source]);
}

/** Whether `value` is a {@link LogSource}. */
export function isLogSource(value: unknown): value is LogSource {
  return typeof value === "string" && (LOG_SOURCES as readonly string[]).includes(value);
}
