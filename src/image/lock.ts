/**
 * A cross-process lock file: created with `O_EXCL`, holding the owner's pid. A lock whose owner died (same host,
 * pid gone) is broken, under a second "breaker" lock so that two waiters never both break it.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isErrno, processAlive, unlinkIfPresent } from "./fs-util.js";

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** The lock file. Its directory must exist. */
  readonly path: string;
  /** Give up after this long (default 10 minutes). */
  readonly timeoutMs?: number;
  /** How often to retry while another process holds it (default 50 ms). */
  readonly pollMs?: number;
  /** Aborts the wait. */
  readonly signal?: AbortSignal;
}

/** A held lock. Release it exactly once (or use `await using`). */
export interface FileLock extends AsyncDisposable {
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

/** Thrown when the lock stays held by a live process for longer than `timeoutMs`. */
export class LockTimeoutError extends Error {
  constructor(path: string, owner: string) {
    super(`timed out waiting for lock ${path} (held by ${owner.trim() || "unknown"})`);
    this.name = "LockTimeoutError";
  }
}

const BREAKER_STALE_MS = 10_000;

/** Acquires the lock at `options.path`, waiting while a live process holds it. */
export async function acquireFileLock(options: FileLockOptions): Promise<FileLock> {
  const token = `${process.pid}\n${hostname()}\n${randomBytes(8).toString("hex")}\n`;
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    if (await tryCreate(options.path, token)) return heldLock(options.path, token);
    const owner = await readOwner(options.path);
    if (owner !== undefined && isStale(owner) && (await breakStale(options.path, owner))) continue;
    if (Date.now() > deadline) throw new LockTimeoutError(options.path, owner ?? "");
    await sleep(options.pollMs ?? 50, undefined, { signal: options.signal });
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    const handle = await open(path, "wx", 0o644);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (isErrno(error, "EEXIST")) return false;
    throw error;
  }
}

function heldLock(path: string, token: string): FileLock {
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    if ((await readOwner(path)) === token) await unlinkIfPresent(path);
  };
  return { release, [Symbol.asyncDispose]: release };
}

async function readOwner(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
}

/** True when the owner line names a process of this host that no longer exists. */
function isStale(owner: string): boolean {
  const [pidText, host] = owner.split("\n");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  return !processAlive(pid);
}

/** Removes the stale lock if it is still `staleOwner`'s; false when another waiter is doing it right now. */
async function breakStale(path: string, staleOwner: string): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, `${process.pid}\n`))) {
    const age = await ageMs(breaker);
    if (age !== undefined && age > BREAKER_STALE_MS) await unlinkIfPresent(breaker);
    return false;
  }
  try {
    if ((await readOwner(path)) === staleOwner) await unlinkIfPresent(path);
    return true;
  } finally {
    await unlinkIfPresent(breaker);
  }
}

async function ageMs(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
}
