/** The local state store: one SQLite database per `MSB_HOME`, with a typed repository per area. */
import type Database from "better-sqlite3";
import { openDatabase, type OpenDatabaseOptions } from "./database.js";
import { ImageRepository } from "./image-repository.js";
import { SandboxRepository } from "./sandbox-repository.js";
import { VolumeRepository } from "./volume-repository.js";

/** An open store. Close it when done (or use `using`). */
export class Store implements Disposable {
  readonly #db: Database.Database;
  /** Images, references, layers and leases. */
  readonly images: ImageRepository;
  /** Sandboxes and their status. */
  readonly sandboxes: SandboxRepository;
  /** Named volumes. */
  readonly volumes: VolumeRepository;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.images = new ImageRepository(db);
    this.sandboxes = new SandboxRepository(db);
    this.volumes = new VolumeRepository(db);
  }

  /** Opens the database at `options.path` (usually `msbPaths(home).database`), migrating it. */
  static open(options: OpenDatabaseOptions): Store {
    return new Store(openDatabase(options));
  }

  /** The schema version (the highest applied migration). */
  get schemaVersion(): number {
    return (this.#db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v;
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
