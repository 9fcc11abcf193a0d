/** Layer decompression, chosen from the blob's first bytes: gzip (node:zlib), zstd (fzstd, pure JS) or none. */
import { open } from "node:fs/promises";
import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

/** Compression of a layer blob. */
export type Compression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Detects the compression from the magic bytes (media types lie often enough that Docker sniffs too). */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (magic: number[]): boolean => magic.every((byte, i) => head[i] === byte);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  return "none";
}

/** Reads the first bytes of the file at `path` and sniffs its compression. */
export async function sniffFile(path: string): Promise<Compression> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return sniffCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** A transform that decompresses `compression` (a pass-through for `none`). */
export function decompressor(compression: Compression): Transform {
  switch (compression) {
    case "gzip":
      return createGunzip({ chunkSize: 256 * 1024 });
    case "zstd":
      return zstdTransform();
    case "none":
      return new Transform({
        transform: (chunk: Buffer, _encoding, done) => {
          done(null, chunk);
        },
      });
  }
}

function zstdTransform(): Transform {
  let stream: Decompress | undefined;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        (stream ??= new Decompress((data) =>
          transform.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
        )).push(chunk);
        done();
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)));
      }
    },
    flush(done) {
      try {
        stream?.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)));
      }
    },
  });
  return transform;
}
