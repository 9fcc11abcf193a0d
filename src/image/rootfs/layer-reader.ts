/** Streams one layer blob through decompression, the diff_id check and the tar parser. */
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { ImageDigestError } from "../../errors.js";
import { decompressor, sniffFile } from "../decompress.js";
import { DigestHasher } from "../digest.js";
import { TarParser, type TarEntryHandler } from "../tar/parser.js";

/** Options of {@link readLayer}. */
export interface ReadLayerOptions {
  /** The (possibly compressed) layer blob. */
  readonly path: string;
  /** Its digest, for messages. */
  readonly digest: string;
  /** The uncompressed digest the image config promises; checked after the last byte. */
  readonly diffId: string;
  /** Receives every entry. */
  readonly onEntry: TarEntryHandler;
}

/** Reads the layer; throws {@link ImageDigestError} if its uncompressed bytes do not match `diffId`. */
export async function readLayer(options: ReadLayerOptions): Promise<void> {
  const compression = await sniffFile(options.path);
  const hasher = DigestHasher.for(options.diffId);
  const parser = new TarParser(options.onEntry);
  let rejected: { error: unknown } | undefined; // pipeline reports the teardown (AbortError), not the cause
  try {
    await pipeline(
      createReadStream(options.path, { highWaterMark: 256 * 1024 }),
      decompressor(compression),
      async function consume(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hasher.update(chunk);
          try {
            parser.write(chunk);
          } catch (error) {
            rejected = { error };
            throw error;
          }
        }
      },
    );
  } catch (error) {
    throw rejected === undefined ? error : rejected.error;
  }
  parser.end();
  const actual = hasher.digest();
  if (actual !== options.diffId) {
    throw new ImageDigestError(
      `layer ${options.digest} uncompresses to ${actual}, but the image config says ${options.diffId}`,
      { expected: options.diffId, actual },
    );
  }
}
