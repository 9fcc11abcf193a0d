/** The local state store (SQLite). */
export { Store } from "./store.js";
export type { OpenDatabaseOptions } from "./database.js";
export { MIGRATIONS, type Migration } from "./migrations.js";
export type {
  ImageLayerRecord,
  ImageRecord,
  ImageRepository,
  NewImageRecord,
  ReferenceRecord,
} from "./image-repository.js";
