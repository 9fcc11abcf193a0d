/** Opens the SQLite database: WAL, a busy timeout for concurrent processes, foreign keys, migrations. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MsbError, StoreError } from "../errors.js";
import { MIGRATIONS, migrate, type Migration } from "./migrations.js";

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** The database file (`msbPaths(home).database`); its directory is created. `:memory:` for tests. */
  readonly path: string;
  /** How long a writer waits for another process's transaction (default 15 s). */
  readonly busyTimeoutMs?: number;
  /** Schema to apply (default: all of {@link MIGRATIONS}). */
  readonly migrations?: readonly Migration[];
}

/** Opens (creating if needed) and migrates the database. */
export function openDatabase(options: OpenDatabaseOptions): Database.Database {
  return guardStore(`cannot open the database ${options.path}`, () => {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    const busyTimeoutMs = options.busyTimeoutMs ?? 15_000;
    const db = new Database(options.path, { timeout: busyTimeoutMs });
    try {
      useWriteAheadLog(db, busyTimeoutMs);
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      migrate(db, options.migrations ?? MIGRATIONS);
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  });
}

/**
 * Puts the database in WAL mode, unless it is already. Switching takes a write lock on top of the read lock the
 * pragma already holds, and SQLite refuses that at once (SQLITE_BUSY, no busy handler: waiting could deadlock) when
 * another process is writing, as when several open a new database together. So a busy switch is retried, with
 * backoff, for at most `budgetMs`.
 */
function useWriteAheadLog(db: Database.Database, budgetMs: number): void {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw error;
      sleepSync(Math.min(5 * 2 ** attempt, 100));
    }
  }
}

/** Blocks the thread for `ms` (opening the database is synchronous, like the rest of better-sqlite3). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn`, turning SQLite and file-system failures into {@link StoreError} (MsbErrors pass through). */
export function guardStore<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MsbError) throw error;
    const code = (error as { code?: unknown }).code;
    const hint =
      code === "SQLITE_BUSY" ? "another microsandbox process held the database too long; retry" : undefined;
    throw new StoreError(`${what}: ${(error as Error).message}`, {
      cause: error,
      ...(hint === undefined ? {} : { hint }),
    });
  }
}
