/**
 * Image records: manifests, configs, layers, the references that name them and the leases that pin them. Rows never
 * leave this module; callers get plain typed objects. Every write is one transaction.
 */
import type Database from "better-sqlite3";
import { guardStore } from "./database.js";

/** A layer of an image, in order. */
export interface ImageLayerRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly diffId: string;
}

/** What a pull records. */
export interface NewImageRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: string;
  readonly configDigest: string;
  readonly config: string;
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly created?: string;
  readonly layers: readonly ImageLayerRecord[];
}

/** A stored image. */
export interface ImageRecord extends NewImageRecord {
  /** Sum of the compressed layer sizes. */
  readonly size: number;
  readonly pulledAt: Date;
  readonly lastUsedAt?: Date;
  /** Canonical references that point at it. */
  readonly references: readonly string[];
}

/** A reference and what it resolved to. */
export interface ReferenceRecord {
  readonly reference: string;
  readonly imageDigest: string;
  /** The digest the registry returned for the reference (an index, or the image itself). */
  readonly resolvedDigest: string;
}

interface ImageRow {
  digest: string;
  media_type: string;
  manifest: string;
  config_digest: string;
  config: string;
  os: string;
  architecture: string;
  variant: string | null;
  size: number;
  created: string | null;
  pulled_at: number;
  last_used_at: number | null;
}

/** Typed access to the image tables. */
export class ImageRepository {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Records a pulled image (and optionally the reference that named it), replacing what the reference pointed at. */
  save(
    image: NewImageRecord,
    reference?: { readonly reference: string; readonly resolvedDigest: string },
  ): void {
    guardStore("cannot record the image", () => {
      const now = Date.now();
      const write = this.#db.transaction(() => {
        this.#db
          .prepare(
            `INSERT INTO images (digest, media_type, manifest, config_digest, config, os, architecture, variant, size, created, pulled_at)
             VALUES (@digest, @mediaType, @manifest, @configDigest, @config, @os, @architecture, @variant, @size, @created, @now)
             ON CONFLICT (digest) DO UPDATE SET pulled_at = excluded.pulled_at`,
          )
          .run({
            ...image,
            variant: image.variant ?? null,
            created: image.created ?? null,
            size: image.layers.reduce((sum, l) => sum + l.size, 0),
            now,
          });
        const layer = this.#db.prepare(
          "INSERT OR IGNORE INTO layers (digest, media_type, size) VALUES (?, ?, ?)",
        );
        const link = this.#db.prepare(
          "INSERT OR REPLACE INTO image_layers (image_digest, position, layer_digest, diff_id) VALUES (?, ?, ?, ?)",
        );
        image.layers.forEach((l, position) => {
          layer.run(l.digest, l.mediaType, l.size);
          link.run(image.digest, position, l.digest, l.diffId);
        });
        if (reference !== undefined) {
          this.#db
            .prepare(
              `INSERT INTO image_references (reference, image_digest, resolved_digest, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (reference) DO UPDATE SET image_digest = excluded.image_digest,
                 resolved_digest = excluded.resolved_digest, updated_at = excluded.updated_at`,
            )
            .run(reference.reference, image.digest, reference.resolvedDigest, now);
        }
      });
      write.immediate();
    });
  }

  /** What a reference points at, if it was pulled. */
  reference(reference: string): ReferenceRecord | undefined {
    return guardStore("cannot read the image references", () => {
      const row = this.#db
        .prepare("SELECT reference, image_digest, resolved_digest FROM image_references WHERE reference = ?")
        .get(reference) as { reference: string; image_digest: string; resolved_digest: string } | undefined;
      return row === undefined
        ? undefined
        : { reference: row.reference, imageDigest: row.image_digest, resolvedDigest: row.resolved_digest };
    });
  }

  /** The image with this manifest digest. */
  get(digest: string): ImageRecord | undefined {
    return guardStore("cannot read the image", () => {
      const row = this.#db.prepare("SELECT * FROM images WHERE digest = ?").get(digest) as
        ImageRow | undefined;
      return row === undefined ? undefined : this.#record(row);
    });
  }

  /** Every stored image, newest pull first. */
  list(): ImageRecord[] {
    return guardStore("cannot list images", () =>
      (this.#db.prepare("SELECT * FROM images ORDER BY pulled_at DESC, digest").all() as ImageRow[]).map(
        (row) => this.#record(row),
      ),
    );
  }

  /** Removes a reference (the image stays, possibly dangling). Returns false if it did not exist. */
  removeReference(reference: string): boolean {
    return guardStore(
      "cannot remove the reference",
      () => this.#db.prepare("DELETE FROM image_references WHERE reference = ?").run(reference).changes > 0,
    );
  }

  /**
   * Deletes an image and its references in one transaction, unless it is leased. `beforeCommit` receives the layer
   * digests no image uses any more (their rows are already deleted) and runs inside the transaction: delete the
   * blobs there, so a concurrent pull that re-uses a layer either sees it gone or keeps it referenced.
   * Returns the holders (and deletes nothing) when it is leased.
   */
  delete(
    digest: string,
    beforeCommit: (orphanLayers: readonly string[]) => void,
  ): { deleted: boolean; holders: readonly string[] } {
    return guardStore("cannot delete the image", () => {
      const run = this.#db.transaction(() => {
        const holders = this.#holders(digest);
        if (holders.length > 0) return { deleted: false, holders };
        const layers = this.#db
          .prepare("SELECT DISTINCT layer_digest AS d FROM image_layers WHERE image_digest = ?")
          .all(digest) as { d: string }[];
        const deleted = this.#db.prepare("DELETE FROM images WHERE digest = ?").run(digest).changes > 0;
        const orphans = layers.map((l) => l.d).filter((d) => this.#deleteLayerIfUnused(d));
        beforeCommit(orphans);
        return { deleted, holders };
      });
      return run.immediate();
    });
  }

  /** Images no reference names and no lease holds (what `prune` removes). */
  dangling(): string[] {
    return guardStore("cannot list dangling images", () =>
      (
        this.#db
          .prepare(
            `SELECT digest FROM images i WHERE NOT EXISTS (SELECT 1 FROM image_references r WHERE r.image_digest = i.digest)
             AND NOT EXISTS (SELECT 1 FROM image_leases l WHERE l.image_digest = i.digest)`,
          )
          .all() as { digest: string }[]
      ).map((r) => r.digest),
    );
  }

  /** Every layer digest some image uses. */
  referencedLayers(): Set<string> {
    return guardStore(
      "cannot list layers",
      () =>
        new Set(
          (
            this.#db.prepare("SELECT DISTINCT layer_digest AS d FROM image_layers").all() as { d: string }[]
          ).map((r) => r.d),
        ),
    );
  }

  /**
   * Runs `check` inside an IMMEDIATE transaction (no image can be deleted meanwhile) and returns its result: used to
   * confirm that cached layer blobs still exist right before an image is recorded or used.
   */
  whileLocked<T>(check: () => T): T {
    return guardStore("cannot lock the image tables", () => this.#db.transaction(check).immediate());
  }

  /** Takes a lease: the image cannot be removed until every holder releases it. */
  addLease(digest: string, holder: string): void {
    guardStore("cannot lease the image", () => {
      this.#db
        .prepare("INSERT OR IGNORE INTO image_leases (image_digest, holder, created_at) VALUES (?, ?, ?)")
        .run(digest, holder, Date.now());
    });
  }

  /** Releases a lease (no-op when not held). */
  removeLease(digest: string, holder: string): void {
    guardStore("cannot release the image lease", () => {
      this.#db.prepare("DELETE FROM image_leases WHERE image_digest = ? AND holder = ?").run(digest, holder);
    });
  }

  /** Who holds leases on the image. */
  holders(digest: string): string[] {
    return guardStore("cannot read image leases", () => this.#holders(digest));
  }

  /** Marks the image as used now. */
  touch(digest: string): void {
    guardStore("cannot update the image", () => {
      this.#db.prepare("UPDATE images SET last_used_at = ? WHERE digest = ?").run(Date.now(), digest);
    });
  }

  #holders(digest: string): string[] {
    return (
      this.#db
        .prepare("SELECT holder FROM image_leases WHERE image_digest = ? ORDER BY holder")
        .all(digest) as { holder: string }[]
    ).map((r) => r.holder);
  }

  #deleteLayerIfUnused(digest: string): boolean {
    const used =
      this.#db.prepare("SELECT 1 FROM image_layers WHERE layer_digest = ? LIMIT 1").get(digest) !== undefined;
    if (used) return false;
    this.#db.prepare("DELETE FROM layers WHERE digest = ?").run(digest);
    return true;
  }

  #record(row: ImageRow): ImageRecord {
    const layers = (
      this.#db
        .prepare(
          `SELECT l.digest, l.media_type, l.size, il.diff_id FROM image_layers il JOIN layers l ON l.digest = il.layer_digest
         WHERE il.image_digest = ? ORDER BY il.position`,
        )
        .all(row.digest) as { digest: string; media_type: string; size: number; diff_id: string }[]
    ).map((l) => ({
      digest: l.digest,
      mediaType: l.media_type,
      size: l.size,
      diffId: l.diff_id,
    }));
    const references = (
      this.#db
        .prepare("SELECT reference FROM image_references WHERE image_digest = ? ORDER BY reference")
        .all(row.digest) as {
        reference: string;
      }[]
    ).map((r) => r.reference);
    return {
      digest: row.digest,
      mediaType: row.media_type,
      manifest: row.manifest,
      configDigest: row.config_digest,
      config: row.config,
      os: row.os,
      architecture: row.architecture,
      ...(row.variant === null ? {} : { variant: row.variant }),
      ...(row.created === null ? {} : { created: row.created }),
      layers,
      size: row.size,
      pulledAt: new Date(row.pulled_at),
      ...(row.last_used_at === null ? {} : { lastUsedAt: new Date(row.last_used_at) }),
      references,
    };
  }
}
