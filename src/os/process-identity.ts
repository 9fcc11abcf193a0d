/**
 * A process proven to be ours: its pid plus its start time. A pid alone is not an identity (pids are reused, and
 * setup runs as root), so every signal the library sends goes through {@link signalProcess}, which checks that
 * the process with that pid is still the one that was recorded. On Linux the start time is field 22 of
 * `/proc/<pid>/stat` (clock ticks since boot); where `/proc` is missing (macOS) it is `undefined` and only
 * liveness can be checked.
 */
import { readFileSync } from "node:fs";

/** A process as recorded when it was started. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat` field 22); undefined without `/proc`. */
  readonly startTime: number | undefined;
}

/** What `/proc/<pid>/stat` says about a process: its state letter and start time. */
export interface ProcStat {
  /** `R`, `S`, `D`, `Z` (zombie), `X` (dead)... */
  readonly state: string;
  /** The parent's pid (field 4). */
  readonly ppid: number;
  readonly startTime: number;
}

/**
 * Parses a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may itself contain spaces
 * and parentheses, so fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // After the name: field 3 (state) is fields[0], field 4 (ppid) fields[1], field 22 (starttime) fields[19].
  const state = fields[0];
  const ppid = Number(fields[1]);
  const startTime = Number(fields[19]);
  if (
    state === undefined ||
    state === "" ||
    !Number.isSafeInteger(startTime) ||
    !Number.isSafeInteger(ppid)
  ) {
    return undefined;
  }
  return { state, ppid, startTime };
}

/** `/proc/<pid>/stat` of a live process, or undefined (no such process, or no `/proc`). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseProcStat(text);
}

/** True when `/proc` describes processes (Linux). */
function hasProcfs(): boolean {
  return readProcStat(process.pid) !== undefined;
}

/** The identity of the running process `pid` (throws if it does not exist). */
export function identityOf(pid: number): ProcessIdentity {
  const stat = readProcStat(pid);
  if (stat === undefined && hasProcfs()) throw new Error(`process ${pid} does not exist`);
  return { pid, startTime: stat?.startTime };
}

/** Signal-0 probe: a process with this pid exists (a zombie counts). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True when the recorded process still runs: same pid, same start time, and not a zombie (a zombie has exited;
 * only its parent has not reaped it yet).
 */
export function isRunning(identity: ProcessIdentity): boolean {
  const stat = readProcStat(identity.pid);
  if (stat === undefined) return identity.startTime === undefined && !hasProcfs() && pidExists(identity.pid);
  if (stat.state === "Z" || stat.state === "X") return false;
  return identity.startTime === undefined || stat.startTime === identity.startTime;
}

/**
 * Sends `signal` to the recorded process only if it is still that process (see {@link isRunning}). Returns
 * whether it was sent. A process that exits between the check and the signal is not an error.
 */
export function signalProcess(identity: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!isRunning(identity)) return false;
  try {
    process.kill(identity.pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}
