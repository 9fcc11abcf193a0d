/** Per-sandbox copy-on-write root disks: a qcow2 file backed by an image's read-only base disk. */
import { open, rename, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { RootfsBuildError } from "../../errors.js";
import { tempPath, unlinkIfPresent } from "../fs-util.js";
import { qcow2Overlay, qcow2VirtualSize } from "./qcow2-overlay.js";

/** Options of {@link createOverlay}. */
export interface CreateOverlayOptions {
  /** The base disk (raw ext4). Stored as an absolute path in the overlay. */
  readonly base: string;
  /** Format of `base`: `raw` (an image's base disk, the default) or `qcow2` (a VM template's disk). */
  readonly baseFormat?: "raw" | "qcow2";
  /** Where the overlay goes (its directory must exist). Replaced atomically if present. */
  readonly path: string;
  /**
   * Virtual size of the disk, at least the base's. Larger values leave room to grow the filesystem in the guest
   * (online `EXT4_IOC_RESIZE_FS`); default: the base's size.
   */
  readonly virtualSizeBytes?: number;
  /**
   * Store `base` as given, a name relative to the overlay's own directory, without opening it: the overlay then
   * works wherever a file of that name sits beside it (a VM template's blank child disk). Needs
   * `virtualSizeBytes`.
   */
  readonly relativeBase?: boolean;
}

/** A root disk for `MicroVm.boot({ rootDisk })`. */
export interface RootDisk {
  readonly path: string;
  readonly format: "qcow2";
}

/**
 * Creates the overlay (192 KiB on disk), written in-process (`qcow2-overlay.ts`): what `qemu-img create -f qcow2
 * -F FMT -b BASE` makes, without its process.
 */
export async function createOverlay(options: CreateOverlayOptions): Promise<RootDisk> {
  const relative = options.relativeBase === true;
  if (relative && options.virtualSizeBytes === undefined) {
    throw new RootfsBuildError(`the overlay ${options.path} over a relative base needs its virtual size`);
  }
  const base = relative || isAbsolute(options.base) ? options.base : resolve(options.base);
  const format = options.baseFormat ?? "raw";
  const scratch = tempPath(dirname(options.path), ".overlay");
  try {
    const virtualSizeBytes = options.virtualSizeBytes ?? (await sizeOfBase(base, format));
    await writeFile(scratch, qcow2Overlay({ backingFile: base, backingFormat: format, virtualSizeBytes }), {
      mode: 0o644,
    });
    await rename(scratch, options.path);
    return { path: options.path, format: "qcow2" };
  } catch (error) {
    await unlinkIfPresent(scratch);
    if (error instanceof RootfsBuildError) throw error;
    throw new RootfsBuildError(`cannot create the overlay ${options.path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The virtual size of a base disk: a raw file's length, or what a qcow2's header records. */
async function sizeOfBase(base: string, format: "raw" | "qcow2"): Promise<number> {
  if (format === "raw") return (await stat(base)).size;
  const handle = await open(base, "r");
  try {
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    const size = qcow2VirtualSize(header.subarray(0, bytesRead));
    if (size === undefined) throw new RootfsBuildError(`${base} is not a qcow2 disk`);
    return size;
  } finally {
    await handle.close();
  }
}
