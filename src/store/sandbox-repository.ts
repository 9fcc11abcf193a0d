/**
 * The sandboxes table: one row per sandbox with its status, (secret-free) config, pids and timestamps. Every
 * read reconciles rows with reality: a sandbox whose supervisor process is gone while the row says it is alive
 * is marked `crashed`.
 */
import type Database from "better-sqlite3";
import { SandboxExistsError } from "../errors.js";
import { guardStore } from "./database.js";

/** Lifecycle states stored for a sandbox. */
export type SandboxStatus = "creating" | "running" | "stopping" | "stopped" | "crashed";

/** A sandbox row. */
export interface SandboxRecord {
  readonly name: string;
  readonly id: string;
  readonly status: SandboxStatus;
  /** The sandbox config as JSON, without secret values. */
  readonly configJson: string;
  readonly image: string;
  readonly imageDigest: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Directory of the sandbox's sockets (short path: unix socket names are limited). */
  readonly runDir: string;
  readonly supervisorPid: number | undefined;
  readonly qemuPid: number | undefined;
  /** The process that created an attached sandbox (its death stops the sandbox). */
  readonly ownerPid: number | undefined;
  readonly detached: boolean;
  /** Why it stopped, when it did (`stopped`, `vm exited with code 1`...). */
  readonly exitReason: string | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Fields of a new row. */
export type NewSandboxRecord = Omit<
  SandboxRecord,
  "status" | "createdAt" | "updatedAt" | "supervisorPid" | "qemuPid" | "exitReason"
>;

interface Row {
  name: string;
  id: string;
  status: SandboxStatus;
  config: string;
  image: string;
  image_digest: string | null;
  labels: string;
  run_dir: string;
  supervisor_pid: number | null;
  qemu_pid: number | null;
  owner_pid: number | null;
  detached: number;
  exit_reason: string | null;
  created_at: number;
  updated_at: number;
}

const ALIVE: readonly SandboxStatus[] = ["creating", "running", "stopping"];

/** True when a process with this pid exists (signal 0 probe). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function toRecord(row: Row): SandboxRecord {
  return {
    name: row.name,
    id: row.id,
    status: row.status,
    configJson: row.config,
    image: row.image,
    imageDigest: row.image_digest ?? undefined,
    labels: JSON.parse(row.labels) as Record<string, string>,
    runDir: row.run_dir,
    supervisorPid: row.supervisor_pid ?? undefined,
    qemuPid: row.qemu_pid ?? undefined,
    ownerPid: row.owner_pid ?? undefined,
    detached: row.detached === 1,
    exitReason: row.exit_reason ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Typed access to the sandboxes table. */
export class SandboxRepository {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Inserts a `creating` row; throws {@link SandboxExistsError} when the name is taken. */
  insert(record: NewSandboxRecord): void {
    guardStore("cannot record the sandbox", () => {
      const now = Date.now();
      const insert = this.#db.transaction(() => {
        if (this.#db.prepare("SELECT 1 FROM sandboxes WHERE name = ?").get(record.name) !== undefined) {
          throw new SandboxExistsError(record.name);
        }
        this.#db
          .prepare(
            `INSERT INTO sandboxes (name, id, status, config, image, image_digest, labels, run_dir, owner_pid,
               detached, created_at, updated_at)
             VALUES (?, ?, 'creating', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            record.name,
            record.id,
            record.configJson,
            record.image,
            record.imageDigest ?? null,
            JSON.stringify(record.labels),
            record.runDir,
            record.ownerPid ?? null,
            record.detached ? 1 : 0,
            now,
            now,
          );
      });
      insert.immediate();
    });
  }

  /** Records a status transition (and optionally pids or the exit reason). */
  setStatus(
    name: string,
    status: SandboxStatus,
    extra: { supervisorPid?: number; qemuPid?: number; exitReason?: string } = {},
  ): void {
    guardStore("cannot update the sandbox status", () => {
      this.#db
        .prepare(
          `UPDATE sandboxes SET status = ?, updated_at = ?,
             supervisor_pid = COALESCE(?, supervisor_pid), qemu_pid = COALESCE(?, qemu_pid),
             exit_reason = COALESCE(?, exit_reason)
           WHERE name = ?`,
        )
        .run(
          status,
          Date.now(),
          extra.supervisorPid ?? null,
          extra.qemuPid ?? null,
          extra.exitReason ?? null,
          name,
        );
    });
  }

  /** The sandbox, reconciled with reality, or undefined. */
  get(name: string): SandboxRecord | undefined {
    const row = guardStore("cannot read the sandbox", () => {
      return this.#db.prepare("SELECT * FROM sandboxes WHERE name = ?").get(name) as Row | undefined;
    });
    return row === undefined ? undefined : this.reconcile(toRecord(row));
  }

  /** Every sandbox, reconciled, oldest first. */
  list(): SandboxRecord[] {
    const rows = guardStore("cannot list sandboxes", () => {
      return this.#db.prepare("SELECT * FROM sandboxes ORDER BY created_at, name").all() as Row[];
    });
    return rows.map((row) => this.reconcile(toRecord(row)));
  }

  /** Deletes the row. */
  delete(name: string): void {
    guardStore("cannot delete the sandbox", () => {
      this.#db.prepare("DELETE FROM sandboxes WHERE name = ?").run(name);
    });
  }

  /** A row that claims to be alive but whose processes are gone is marked `crashed`. */
  private reconcile(record: SandboxRecord): SandboxRecord {
    if (!ALIVE.includes(record.status)) return record;
    const keeper = record.supervisorPid ?? record.ownerPid;
    if (keeper === undefined || processAlive(keeper)) return record;
    const exitReason = record.supervisorPid === undefined ? "creator exited" : "supervisor exited";
    this.setStatus(record.name, "crashed", { exitReason });
    return { ...record, status: "crashed", exitReason: record.exitReason ?? exitReason };
  }
}
