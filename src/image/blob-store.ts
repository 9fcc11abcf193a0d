/**
 * The layer cache: verified blobs by digest under `layers/<algorithm>/<hex>`. A blob appears there only by an
 * atomic rename of a fully written and verified temp file, so readers never see partial content.
 */
import { unlinkSync } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { readdirOrEmpty } from "../os/read-dir.js";
import { digestHex } from "./digest.js";
import { isErrno, tempPath } from "./fs-util.js";

/** Content-addressed blob files. */
export class BlobStore {
  readonly #dir: string;
  readonly #tmpDir: string;

  /** `layersDir` and `tmpDir` should be on the same filesystem (they are, under `MSB_HOME`). */
  constructor(options: { layersDir: string; tmpDir: string }) {
    this.#dir = options.layersDir;
    this.#tmpDir = options.tmpDir;
  }

  /** Where the blob lives (whether or not it is there). */
  path(digest: string): string {
    return join(this.#dir, digest.slice(0, digest.indexOf(":")), digestHex(digest));
  }

  /** True when the blob is cached with exactly `size` bytes. */
  async has(digest: string, size: number): Promise<boolean> {
    try {
      return (await stat(this.path(digest))).size === size;
    } catch (error) {
      if (isErrno(error, "ENOENT")) return false;
      throw error;
    }
  }

  /** A fresh temp file path for downloading `digest` (the directory is created). */
  async tempFile(digest: string): Promise<string> {
    await mkdir(this.#tmpDir, { recursive: true });
    return tempPath(this.#tmpDir, `blob-${digestHex(digest).slice(0, 12)}`);
  }

  /** Moves a verified temp file into place (replacing an identical blob another process may have put there). */
  async commit(tempFile: string, digest: string): Promise<void> {
    const target = this.path(digest);
    await mkdir(join(target, ".."), { recursive: true });
    await rename(tempFile, target);
  }

  /** Deletes a blob (synchronous: it runs inside a database transaction). Missing is fine. */
  removeSync(digest: string): void {
    try {
      unlinkSync(this.path(digest));
    } catch (error) {
      if (!isErrno(error, "ENOENT")) throw error;
    }
  }

  /** Every cached blob: digest and file modification time. */
  async list(): Promise<{ digest: string; mtimeMs: number }[]> {
    const result: { digest: string; mtimeMs: number }[] = [];
    for (const algorithm of await readdirOrEmpty(this.#dir)) {
      for (const hex of await readdirOrEmpty(join(this.#dir, algorithm))) {
        const info = await stat(join(this.#dir, algorithm, hex));
        result.push({ digest: `${algorithm}:${hex}`, mtimeMs: info.mtimeMs });
      }
    }
    return result;
  }
}
