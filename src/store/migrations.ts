/**
 * Numbered schema migrations, applied in order inside one IMMEDIATE transaction (so two processes opening a fresh
 * database do not both migrate). Append new migrations at the end; never edit a released one.
 */
import type Database from "better-sqlite3";
import { StoreError } from "../errors.js";

/** One schema step. */
export interface Migration {
  /** 1, 2, 3... without gaps. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The schema, in order. Later issues add sandboxes, volumes... as new entries. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "images",
    sql: `
      CREATE TABLE images (
        digest        TEXT PRIMARY KEY,     -- manifest digest (platform-specific)
        media_type    TEXT NOT NULL,
        manifest      TEXT NOT NULL,        -- the manifest as fetched (its digest was verified)
        config_digest TEXT NOT NULL,
        config        TEXT NOT NULL,        -- the config blob as fetched
        os            TEXT NOT NULL,
        architecture  TEXT NOT NULL,
        variant       TEXT,
        size          INTEGER NOT NULL,     -- sum of the compressed layer sizes
        created       TEXT,                 -- creation time written in the image config
        pulled_at     INTEGER NOT NULL,     -- ms since epoch
        last_used_at  INTEGER
      ) STRICT;
      CREATE TABLE image_references (
        reference       TEXT PRIMARY KEY,   -- canonical reference: docker.io/library/alpine:latest
        image_digest    TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE,
        resolved_digest TEXT NOT NULL,      -- what the registry answered for it (an index digest, or = image_digest)
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX image_references_by_image ON image_references(image_digest);
      CREATE TABLE layers (
        digest     TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size       INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE image_layers (
        image_digest TEXT NOT NULL REFERENCES images(digest) ON DELETE CASCADE,
        position     INTEGER NOT NULL,
        layer_digest TEXT NOT NULL REFERENCES layers(digest),
        diff_id      TEXT NOT NULL,
        PRIMARY KEY (image_digest, position)
      ) STRICT;
      CREATE INDEX image_layers_by_layer ON image_layers(layer_digest);
      -- Who uses an image (e.g. 'sandbox:web'). RESTRICT: a leased image cannot be deleted.
      CREATE TABLE image_leases (
        image_digest TEXT NOT NULL REFERENCES images(digest) ON DELETE RESTRICT,
        holder       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (image_digest, holder)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "sandboxes",
    sql: `
      CREATE TABLE sandboxes (
        name           TEXT PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        status         TEXT NOT NULL CHECK (status IN ('creating','running','stopping','stopped','crashed')),
        config         TEXT NOT NULL,      -- the sandbox config as JSON, never with secret values
        image          TEXT NOT NULL,
        image_digest   TEXT,
        labels         TEXT NOT NULL,      -- JSON object
        run_dir        TEXT NOT NULL,
        supervisor_pid INTEGER,
        qemu_pid       INTEGER,
        owner_pid      INTEGER,
        detached       INTEGER NOT NULL,
        exit_reason    TEXT,
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    // The full status machine (starting, draining) and process identities (pid + start time), so a signal
    // only ever reaches the process that was recorded. SQLite cannot alter a CHECK: the table is rebuilt.
    version: 3,
    name: "sandbox lifecycle",
    sql: `
      CREATE TABLE sandboxes_v3 (
        name             TEXT PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        status           TEXT NOT NULL CHECK (status IN
                           ('creating','starting','running','draining','stopping','stopped','crashed')),
        config           TEXT NOT NULL,
        image            TEXT NOT NULL,
        image_digest     TEXT,
        labels           TEXT NOT NULL,
        run_dir          TEXT NOT NULL,
        supervisor_pid   INTEGER,
        supervisor_start INTEGER,          -- /proc/<pid>/stat starttime of the supervisor
        qemu_pid         INTEGER,
        qemu_start       INTEGER,
        owner_pid        INTEGER,
        detached         INTEGER NOT NULL,
        exit_reason      TEXT,
        starts           INTEGER NOT NULL DEFAULT 1,  -- boots so far (create counts as the first)
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      ) STRICT;
      INSERT INTO sandboxes_v3 (name, id, status, config, image, image_digest, labels, run_dir, supervisor_pid,
          qemu_pid, owner_pid, detached, exit_reason, created_at, updated_at)
        SELECT name, id, status, config, image, image_digest, labels, run_dir, supervisor_pid, qemu_pid,
          owner_pid, detached, exit_reason, created_at, updated_at FROM sandboxes;
      DROP TABLE sandboxes;
      ALTER TABLE sandboxes_v3 RENAME TO sandboxes;
    `,
  },
  {
    // Named volumes. A row is inserted (the unique name decides between two creators) before its files are made,
    // with ready = 0 and the creator's identity; it becomes visible once ready. A not-ready row whose creator
    // died is an abandoned create, cleaned up by the next create of that name.
    version: 4,
    name: "volumes",
    sql: `
      CREATE TABLE volumes (
        name          TEXT PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('directory','disk')),
        quota_mib     INTEGER,            -- NULL: a directory volume without a quota
        labels        TEXT NOT NULL,      -- JSON object
        ready         INTEGER NOT NULL,   -- 0 while its creator makes the files
        creator_pid   INTEGER,
        creator_start INTEGER,            -- /proc/<pid>/stat starttime of the creator
        baseline_bytes INTEGER NOT NULL DEFAULT 0,  -- used bytes of a disk volume's empty filesystem
        created_at    INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

/** Brings the database to the latest schema. Throws {@link StoreError} if it was written by a newer version. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const apply = db.transaction(() => {
    const row = db.prepare("SELECT MAX(version) AS version FROM schema_migrations").get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new StoreError(
        `the database schema is version ${current}, newer than this microsandbox supports (${latest})`,
        {
          hint: "upgrade microsandbox, or point MSB_HOME elsewhere",
        },
      );
    }
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
  });
  apply.immediate();
}
