/**
 * The sandboxes table: one row per sandbox with its status, (secret-free) config, pids and timestamps. Every
 * read reconciles rows with reality: a sandbox whose supervisor process is gone while the row says it is alive
 * is marked `crashed`.
 */
import type Database from "better-sqlite3";
import { SandboxExistsError } from "../errors.js";
import { isRunning } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";
import { guardStore } from "./database.js";
import { labelQuery, type LabelCondition } from "./label-query.js";
import { BOOTING_STATUSES, isLive, RESTARTABLE_STATUSES } from "./sandbox-status.js";
import type { SandboxStatus } from "./sandbox-status.js";

export type { SandboxStatus } from "./sandbox-status.js";

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
  /** The supervisor's start time (`/proc/<pid>/stat`), which proves a pid is still that process. */
  readonly supervisorStart: number | undefined;
  readonly qemuPid: number | undefined;
  readonly qemuStart: number | undefined;
  /** The process that created an attached sandbox (its death stops the sandbox). */
  readonly ownerPid: number | undefined;
  readonly detached: boolean;
  /** Why it stopped, when it did (`stopped`, `vm exited with code 1`...). */
  readonly exitReason: string | undefined;
  /** How many times it has booted (1 after create; each start adds one). */
  readonly starts: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Fields of a new row. */
export type NewSandboxRecord = Omit<
  SandboxRecord,
  | "status"
  | "createdAt"
  | "updatedAt"
  | "supervisorPid"
  | "supervisorStart"
  | "qemuPid"
  | "qemuStart"
  | "exitReason"
  | "starts"
>;

/** Details recorded with a status. */
export interface StatusDetails {
  readonly supervisor?: ProcessIdentity;
  readonly qemu?: ProcessIdentity;
  readonly exitReason?: string;
}

/** The supervisor of a record as a proven identity, if it has one. */
export function supervisorOf(record: SandboxRecord): ProcessIdentity | undefined {
  return record.supervisorPid === undefined
    ? undefined
    : { pid: record.supervisorPid, startTime: record.supervisorStart };
}

/** The QEMU process of a record as a proven identity, if it has one. */
export function qemuOf(record: SandboxRecord): ProcessIdentity | undefined {
  return record.qemuPid === undefined ? undefined : { pid: record.qemuPid, startTime: record.qemuStart };
}

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
  supervisor_start: number | null;
  qemu_pid: number | null;
  qemu_start: number | null;
  owner_pid: number | null;
  detached: number;
  exit_reason: string | null;
  starts: number;
  created_at: number;
  updated_at: number;
}

/** True when a process with this pid exists (signal 0 probe; a zombie counts: prefer `isRunning`). */
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
    supervisorStart: row.supervisor_start ?? undefined,
    qemuPid: row.qemu_pid ?? undefined,
    qemuStart: row.qemu_start ?? undefined,
    ownerPid: row.owner_pid ?? undefined,
    detached: row.detached === 1,
    exitReason: row.exit_reason ?? undefined,
    starts: row.starts,
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

  /**
   * Records a status (and optionally process identities or the exit reason) of the incarnation `id`: a sandbox
   * replaced under the same name is never touched. When `from` is given the update is a compare-and-set: it
   * happens only if the row is in one of those states. The result says whether the row changed.
   */
  setStatus(
    id: string,
    status: SandboxStatus,
    details: StatusDetails = {},
    from?: readonly SandboxStatus[],
  ): boolean {
    return guardStore("cannot update the sandbox status", () => {
      const guard = from === undefined ? "" : ` AND status IN (${from.map(() => "?").join(",")})`;
      const result = this.#db
        .prepare(
          `UPDATE sandboxes SET status = ?, updated_at = ?,
             supervisor_pid = COALESCE(?, supervisor_pid), supervisor_start = COALESCE(?, supervisor_start),
             qemu_pid = COALESCE(?, qemu_pid), qemu_start = COALESCE(?, qemu_start),
             exit_reason = COALESCE(?, exit_reason)
           WHERE id = ?${guard}`,
        )
        .run(
          status,
          Date.now(),
          details.supervisor?.pid ?? null,
          details.supervisor?.startTime ?? null,
          details.qemu?.pid ?? null,
          details.qemu?.startTime ?? null,
          details.exitReason ?? null,
          id,
          ...(from ?? []),
        );
      return result.changes === 1;
    });
  }

  /**
   * Claims a stopped or crashed sandbox for a new boot: `starting`, with no processes, the new owner and mode,
   * and one more start. Atomic, so of two processes starting the same sandbox only one gets it: returns false
   * when the row is not restartable (reconciled first, so a dead `running` row counts as crashed).
   */
  claimStart(name: string, owner: { ownerPid: number; detached: boolean }): boolean {
    this.get(name); // reconcile: a row whose processes died becomes crashed, hence restartable
    return guardStore("cannot start the sandbox", () => {
      const states = RESTARTABLE_STATUSES.map(() => "?").join(",");
      const result = this.#db
        .prepare(
          `UPDATE sandboxes SET status = 'starting', updated_at = ?, supervisor_pid = NULL,
             supervisor_start = NULL, qemu_pid = NULL, qemu_start = NULL, exit_reason = NULL,
             owner_pid = ?, detached = ?, starts = starts + 1
           WHERE name = ? AND status IN (${states})`,
        )
        .run(Date.now(), owner.ownerPid, owner.detached ? 1 : 0, name, ...RESTARTABLE_STATUSES);
      return result.changes === 1;
    });
  }

  /**
   * A supervisor records itself as soon as it runs, while the row is still `creating` or `starting`: from then
   * on its identity, not its creator's, proves the sandbox alive. False when the row is no longer booting (the
   * creator gave up, or the sandbox was removed or replaced).
   */
  recordSupervisor(id: string, supervisor: ProcessIdentity): boolean {
    return guardStore("cannot record the supervisor", () => {
      const result = this.#db
        .prepare(
          `UPDATE sandboxes SET supervisor_pid = ?, supervisor_start = ?, updated_at = ?
           WHERE id = ? AND status IN (${BOOTING_STATUSES.map(() => "?").join(",")})`,
        )
        .run(supervisor.pid, supervisor.startTime ?? null, Date.now(), id, ...BOOTING_STATUSES);
      return result.changes === 1;
    });
  }

  /** The sandbox no longer depends on its creator (`detach()`). */
  setDetached(id: string): void {
    guardStore("cannot update the sandbox", () => {
      this.#db
        .prepare("UPDATE sandboxes SET detached = 1, owner_pid = NULL, updated_at = ? WHERE id = ?")
        .run(Date.now(), id);
    });
  }

  /** The sandbox with this id (one incarnation of a name), reconciled, or undefined. */
  getById(id: string): SandboxRecord | undefined {
    const row = guardStore("cannot read the sandbox", () => {
      return this.#db.prepare("SELECT * FROM sandboxes WHERE id = ?").get(id) as Row | undefined;
    });
    return row === undefined ? undefined : this.reconcile(toRecord(row));
  }

  /** The sandbox, reconciled with reality, or undefined. */
  get(name: string): SandboxRecord | undefined {
    const row = guardStore("cannot read the sandbox", () => {
      return this.#db.prepare("SELECT * FROM sandboxes WHERE name = ?").get(name) as Row | undefined;
    });
    return row === undefined ? undefined : this.reconcile(toRecord(row));
  }

  /** Every sandbox (with only those having every label of `labels`), reconciled, oldest first. */
  list(labels: readonly LabelCondition[] = []): SandboxRecord[] {
    const rows = guardStore("cannot list sandboxes", () => {
      const query = labelQuery(labels);
      return this.#db
        .prepare(`SELECT * FROM sandboxes${query.where} ORDER BY created_at, name`)
        .all(...query.params) as Row[];
    });
    return rows.map((row) => this.reconcile(toRecord(row)));
  }

  /** Deletes the incarnation `id` (never a sandbox that replaced it under the same name). */
  deleteById(id: string): void {
    guardStore("cannot delete the sandbox", () => {
      this.#db.prepare("DELETE FROM sandboxes WHERE id = ?").run(id);
    });
  }

  /** Deletes the row of `name`. */
  delete(name: string): void {
    guardStore("cannot delete the sandbox", () => {
      this.#db.prepare("DELETE FROM sandboxes WHERE name = ?").run(name);
    });
  }

  /**
   * A row that claims to be alive but whose supervisor is gone (or a zombie, or its pid now belongs to another
   * process) is marked `crashed`; before the supervisor is recorded, the creator's liveness is what counts.
   */
  private reconcile(record: SandboxRecord): SandboxRecord {
    if (!isLive(record.status)) return record;
    const supervisor = supervisorOf(record);
    if (supervisor !== undefined ? isRunning(supervisor) : alive(record.ownerPid)) return record;
    const exitReason = supervisor === undefined ? "creator exited" : "supervisor exited";
    if (!this.setStatus(record.id, "crashed", { exitReason }, [record.status])) {
      return this.getById(record.id) ?? record; // it changed under us: read it again
    }
    return { ...record, status: "crashed", exitReason: record.exitReason ?? exitReason };
  }
}

function alive(pid: number | undefined): boolean {
  return pid !== undefined && processAlive(pid);
}
