/**
 * The volumes table: one row per named volume. A create first claims the name (a row with `ready = 0` and the
 * creator's identity: of two processes creating the same name, the unique key lets one win), makes the files,
 * then marks the row ready. Readers see ready rows only; a claim whose creator died is abandoned and may be
 * taken over by the next create of that name.
 */
import type Database from "better-sqlite3";
import { VolumeAlreadyExistsError } from "../errors.js";
import { isRunning } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";
import { guardStore } from "./database.js";

/** The two kinds of named volume. */
export type VolumeKind = "directory" | "disk";

/** A volume row. */
export interface VolumeRecord {
  readonly name: string;
  readonly kind: VolumeKind;
  /** Hard limit in MiB; undefined for a directory volume without a quota. */
  readonly quotaMib: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** False while its creator is still making the files. */
  readonly ready: boolean;
  /** The process creating it (kept after: informative). */
  readonly creator: ProcessIdentity | undefined;
  /**
   * Bytes a disk volume's empty filesystem already counts as used (journal, inode tables, root): subtracted, so
   * `usedBytes` is what was written. 0 for directory volumes.
   */
  readonly baselineBytes: number;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** Fields of a claim. */
export interface NewVolumeRecord {
  readonly name: string;
  readonly kind: VolumeKind;
  readonly quotaMib: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly creator: ProcessIdentity;
}

interface Row {
  name: string;
  kind: VolumeKind;
  quota_mib: number | null;
  labels: string;
  ready: number;
  creator_pid: number | null;
  creator_start: number | null;
  baseline_bytes: number;
  created_at: number;
}

function toRecord(row: Row): VolumeRecord {
  return {
    name: row.name,
    kind: row.kind,
    quotaMib: row.quota_mib ?? undefined,
    labels: JSON.parse(row.labels) as Record<string, string>,
    ready: row.ready === 1,
    creator:
      row.creator_pid === null
        ? undefined
        : { pid: row.creator_pid, startTime: row.creator_start ?? undefined },
    baselineBytes: row.baseline_bytes,
    createdAt: row.created_at,
  };
}

/** True when a claim (not ready) was left by a process that no longer runs. */
export function isAbandoned(record: VolumeRecord): boolean {
  return !record.ready && (record.creator === undefined || !isRunning(record.creator));
}

/** Typed access to the volumes table. */
export class VolumeRepository {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /**
   * Claims `record.name` for a create (a not-ready row). Throws {@link VolumeAlreadyExistsError} when the name is
   * taken by a volume or by a live creator. A claim abandoned by a dead creator is returned as `abandoned` and
   * replaced: the caller removes its leftover files before making new ones.
   */
  claim(record: NewVolumeRecord): { abandoned: VolumeRecord | undefined } {
    return guardStore("cannot record the volume", () => {
      const run = this.#db.transaction(() => {
        const row = this.#db.prepare("SELECT * FROM volumes WHERE name = ?").get(record.name) as
          Row | undefined;
        const existing = row === undefined ? undefined : toRecord(row);
        if (existing !== undefined && !isAbandoned(existing)) throw new VolumeAlreadyExistsError(record.name);
        if (existing !== undefined) this.#db.prepare("DELETE FROM volumes WHERE name = ?").run(record.name);
        this.#db
          .prepare(
            `INSERT INTO volumes (name, kind, quota_mib, labels, ready, creator_pid, creator_start, created_at)
             VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
          )
          .run(
            record.name,
            record.kind,
            record.quotaMib ?? null,
            JSON.stringify(record.labels),
            record.creator.pid,
            record.creator.startTime ?? null,
            Date.now(),
          );
        return { abandoned: existing };
      });
      return run.immediate();
    });
  }

  /** Marks a claimed volume ready (its files exist), with its empty filesystem's used bytes when known. */
  markReady(name: string, baselineBytes?: number): void {
    guardStore("cannot record the volume", () => {
      this.#db
        .prepare("UPDATE volumes SET ready = 1, baseline_bytes = COALESCE(?, baseline_bytes) WHERE name = ?")
        .run(baselineBytes ?? null, name);
    });
  }

  /**
   * Takes a ready volume back (not ready, claimed by `remover`) so that nothing new uses it while its files are
   * removed; false when it is not there. Call inside {@link exclusive} after checking its references.
   */
  retire(name: string, remover: ProcessIdentity): boolean {
    return guardStore("cannot update the volume", () => {
      const result = this.#db
        .prepare(
          "UPDATE volumes SET ready = 0, creator_pid = ?, creator_start = ? WHERE name = ? AND ready = 1",
        )
        .run(remover.pid, remover.startTime ?? null, name);
      return result.changes === 1;
    });
  }

  /** The ready volume `name`, or undefined. */
  get(name: string): VolumeRecord | undefined {
    const row = guardStore("cannot read the volume", () => {
      return this.#db.prepare("SELECT * FROM volumes WHERE name = ? AND ready = 1").get(name) as
        Row | undefined;
    });
    return row === undefined ? undefined : toRecord(row);
  }

  /** Every ready volume, by name. */
  list(): VolumeRecord[] {
    const rows = guardStore("cannot list volumes", () => {
      return this.#db.prepare("SELECT * FROM volumes WHERE ready = 1 ORDER BY name").all() as Row[];
    });
    return rows.map(toRecord);
  }

  /** Deletes the row of `name` (ready or not). */
  delete(name: string): void {
    guardStore("cannot delete the volume", () => {
      this.#db.prepare("DELETE FROM volumes WHERE name = ?").run(name);
    });
  }

  /**
   * Runs `fn` in an IMMEDIATE transaction (no other writer meanwhile): used to check references and delete a row
   * as one step, so that no sandbox row naming the volume appears between the check and the delete.
   */
  exclusive<T>(fn: () => T): T {
    return guardStore("cannot update the volume", () => this.#db.transaction(fn).immediate());
  }
}
