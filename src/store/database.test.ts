import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { openDatabase } from "./database.js";

const tempDir = tempDirs("msb-db-");

function newPath(): string {
  return join(tempDir(), "msb.db");
}

/**
 * Another connection, on its own thread, writing to `path` in rollback-journal mode: it takes the write lock,
 * says so, holds it for `holdMs`, then commits. A switch to WAL in that window reads the header under a shared
 * lock and then needs the exclusive one, which SQLite refuses at once (SQLITE_BUSY, no busy handler), as when
 * several processes open one new database together.
 */
function holdWriteLock(path: string, holdMs: number): Promise<Worker> {
  const worker = new Worker(
    `const { workerData, parentPort } = require("node:worker_threads");
     const Database = require(workerData.module);
     const db = new Database(workerData.path);
     db.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
     parentPort.postMessage("locked");
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
     db.exec("COMMIT");
     db.close();`,
    {
      eval: true,
      workerData: { path, holdMs, module: createRequire(import.meta.url).resolve("better-sqlite3") },
    },
  );
  return new Promise((resolve, reject) => {
    worker.once("message", () => {
      resolve(worker);
    });
    worker.once("error", reject);
  });
}

describe("openDatabase", () => {
  it("switches a database that another process is writing to WAL, once that writer is done", async () => {
    const path = newPath();
    const first = new Database(path);
    first.exec("CREATE TABLE t (x INTEGER)");
    expect(first.pragma("journal_mode", { simple: true })).toBe("delete");
    first.close();

    const worker = await holdWriteLock(path, 300);
    const started = Date.now();
    const db = openDatabase({ path, busyTimeoutMs: 10_000, migrations: [] });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      db.close();
      await worker.terminate();
    }
  });

  it("leaves a WAL database as it is", () => {
    const path = newPath();
    openDatabase({ path, migrations: [] }).close();
    const db = openDatabase({ path, migrations: [] });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });
});
