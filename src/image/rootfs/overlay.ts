/** Per-sandbox copy-on-write root disks: a qcow2 file backed by an image's read-only base disk. */
import { rename } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { RootfsBuildError } from "../../errors.js";
import { tempPath, unlinkIfPresent } from "../fs-util.js";
import { describeToolFailure, runTool, type ImageTools } from "../tool.js";

/** Options of {@link createOverlay}. */
export interface CreateOverlayOptions {
  /** The base disk (raw ext4). Stored as an absolute path in the overlay. */
  readonly base: string;
  /** Format of `base`: `raw` (an image's base disk, the default) or `qcow2` (a VM template's disk). */
  readonly baseFormat?: "raw" | "qcow2";
  /** Where the overlay goes (its directory must exist). Replaced atomically if present. */
  readonly path: string;
  readonly tools: ImageTools;
  /**
   * Virtual size of the disk, at least the base's. Larger values leave room to grow the filesystem in the guest
   * (online `EXT4_IOC_RESIZE_FS`); default: the base's size.
   */
  readonly virtualSizeBytes?: number;
  /**
   * Store `base` as given, a name relative to the overlay's own directory, without opening it (`qemu-img -u`): the
   * overlay then works wherever a file of that name sits beside it (a VM template's blank child disk). Needs
   * `virtualSizeBytes`.
   */
  readonly relativeBase?: boolean;
}

/** A root disk for `MicroVm.boot({ rootDisk })`. */
export interface RootDisk {
  readonly path: string;
  readonly format: "qcow2";
}

/** Creates the overlay with `qemu-img create -f qcow2 -F raw -b BASE` (a few milliseconds; 192 KiB on disk). */
export async function createOverlay(options: CreateOverlayOptions): Promise<RootDisk> {
  const relative = options.relativeBase === true;
  if (relative && options.virtualSizeBytes === undefined) {
    throw new RootfsBuildError(`the overlay ${options.path} over a relative base needs its virtual size`);
  }
  const base = relative || isAbsolute(options.base) ? options.base : resolve(options.base);
  const scratch = tempPath(dirname(options.path), ".overlay");
  const args = ["create", "-q", "-f", "qcow2", "-F", options.baseFormat ?? "raw", "-b", base];
  if (relative) args.push("-u");
  args.push(scratch);
  if (options.virtualSizeBytes !== undefined) args.push(String(options.virtualSizeBytes));
  try {
    const result = await runTool(options.tools.qemuImg, { args, timeoutMs: 60_000 });
    if (result.code !== 0)
      throw new RootfsBuildError(
        `cannot create the overlay ${options.path}: ${describeToolFailure("qemu-img", result)}`,
      );
    await rename(scratch, options.path);
    return { path: options.path, format: "qcow2" };
  } catch (error) {
    await unlinkIfPresent(scratch);
    if (error instanceof RootfsBuildError) throw error;
    throw new RootfsBuildError(`cannot create the overlay ${options.path} (is qemu-utils installed?)`, {
      cause: error,
    });
  }
}
