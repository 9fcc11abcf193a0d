/**
 * Downloads one blob into the cache: streamed into a temp file while its digest is computed, resumed with a Range
 * request after a transient failure, verified, then renamed into place. On failure the temp file is removed.
 */
import { open, type FileHandle } from "node:fs/promises";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ImageDigestError } from "../errors.js";
import type { BlobStore } from "./blob-store.js";
import { DigestHasher } from "./digest.js";
import { unlinkIfPresent } from "./fs-util.js";
import type { Descriptor } from "./manifest.js";
import type { RegistryClient } from "./registry/client.js";
import { ShortBodyError, withRetry, type RetryPolicy } from "./retry.js";

/** Options of {@link downloadBlob}. */
export interface DownloadOptions {
  readonly client: RegistryClient;
  readonly descriptor: Descriptor;
  readonly store: BlobStore;
  readonly retry: RetryPolicy;
  /** Bytes received so far (monotonic, even across resumptions). */
  readonly onProgress?: (done: number) => void;
  readonly signal?: AbortSignal;
}

/** Network reads continue while up to this much waits to be written. */
const WRITE_BUFFER = 4 * 1024 * 1024;

/**
 * The bytes of a blob on disk and their digest. Only bytes actually written count (and are hashed), so after a
 * failure `written` is exactly where a resumed download continues.
 */
class BlobFile {
  written = 0;
  #hasher: DigestHasher;
  readonly #digest: string;

  constructor(
    readonly handle: FileHandle,
    digest: string,
  ) {
    this.#digest = digest;
    this.#hasher = DigestHasher.for(digest);
  }

  /** Starts over from the first byte (the registry ignored our Range). */
  async restart(): Promise<void> {
    this.written = 0;
    this.#hasher = DigestHasher.for(this.#digest);
    await this.handle.truncate(0);
  }

  /** A sink appending to the file, at most `limit` bytes in total. */
  sink(limit: number, onProgress: ((done: number) => void) | undefined): Writable {
    const write = async (chunks: Buffer[]): Promise<void> => {
      const size = chunks.reduce((sum, c) => sum + c.length, 0);
      if (this.written + size > limit) {
        throw new ImageDigestError(
          `blob ${this.#digest} is larger than the ${limit} bytes its manifest declares`,
          { expected: this.#digest },
        );
      }
      await this.handle.writev(chunks, this.written);
      for (const chunk of chunks) this.#hasher.update(chunk);
      this.written += size;
      onProgress?.(this.written);
    };
    return new Writable({
      highWaterMark: WRITE_BUFFER,
      writev: (entries, done) => {
        write(entries.map((e) => e.chunk as Buffer)).then(() => {
          done();
        }, done);
      },
    });
  }

  digest(): string {
    return this.#hasher.digest();
  }
}

/** Downloads and caches the blob. Throws {@link ImageDigestError} on a mismatch, the last transient error otherwise. */
export async function downloadBlob(options: DownloadOptions): Promise<void> {
  const { descriptor, store } = options;
  const temp = await store.tempFile(descriptor.digest);
  const file = new BlobFile(await open(temp, "w", 0o644), descriptor.digest);
  let closed = false;
  try {
    await withRetry(
      async () => {
        const response = await options.client.blob(descriptor.digest, file.written);
        if (
          file.written > 0 &&
          (response.status !== 206 || !rangeStartsAt(response.header("content-range"), file.written))
        )
          await file.restart();
        await pipeline(response.body, file.sink(descriptor.size, options.onProgress));
        if (file.written < descriptor.size)
          throw new ShortBodyError(
            `blob ${descriptor.digest} ended after ${file.written} of ${descriptor.size} bytes`,
          );
      },
      { policy: options.retry, ...(options.signal === undefined ? {} : { signal: options.signal }) },
    );
    const actual = file.digest();
    if (actual !== descriptor.digest) {
      throw new ImageDigestError(
        `blob ${descriptor.digest} does not match its digest (got ${actual}); nothing was cached`,
        {
          expected: descriptor.digest,
          actual,
        },
      );
    }
    await file.handle.sync();
    closed = true;
    await file.handle.close();
    await store.commit(temp, descriptor.digest);
  } catch (error) {
    if (!closed) await file.handle.close();
    await unlinkIfPresent(temp);
    throw error;
  }
}

function rangeStartsAt(contentRange: string | undefined, offset: number): boolean {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange ?? "");
  return match !== null && Number(match[1]) === offset;
}
