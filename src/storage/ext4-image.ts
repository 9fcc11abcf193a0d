/**
 * Sparse ext4 images for volumes (a disk volume, or the filesystem a quota directory is): made with `mke2fs`,
 * measured by reading the superblock ourselves (1 KiB at offset 1024: a bounded read of a file the guest wrote).
 */
import { open, truncate, writeFile } from "node:fs/promises";
import { InvalidStateError, SetupError } from "../errors.js";
import { findImageTools, describeToolFailure, runTool } from "../image/tool.js";

const MIB = 1024 * 1024;
const SUPERBLOCK_OFFSET = 1024;
const SUPERBLOCK_SIZE = 1024;
const EXT4_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;

/**
 * Creates `path` as a sparse `sizeMib` ext4 filesystem: root-owned root directory, no reserved blocks (the quota is
 * all the user's), and no `lost+found`, so a new volume is empty. mke2fs first discards the whole file (punches
 * it: it reads as zeros), so it can mark every inode table zeroed without writing it (`lazy_itable_init=0`):
 * no kernel, the host's or a guest's, zeroes them later, and the file stays sparse (measured: 10 GiB → 4.3 MiB,
 * 1 GiB → 0.7 MiB on the host).
 */
export async function makeExt4Image(
  path: string,
  sizeMib: number,
  label: string,
  searchPath: readonly string[],
): Promise<void> {
  const tools = await findImageTools(searchPath);
  await writeFile(path, "", { flag: "wx" });
  await truncate(path, sizeMib * MIB);
  const args = ["-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-L", label.slice(0, 16)];
  args.push("-E", "root_owner=0:0,lazy_itable_init=0,lazy_journal_init=1", path);
  const result = await runTool(tools.mke2fs, { args, timeoutMs: 120_000, maxOutputBytes: 64 * 1024 });
  if (result.code !== 0)
    throw new SetupError(`cannot make the volume's filesystem: ${describeToolFailure("mke2fs", result)}`);
  // An empty volume shows nothing: e2fsck makes lost+found again should it ever need one.
  const rmdir = await runTool(tools.debugfs, {
    args: ["-w", "-R", "rmdir lost+found", path],
    timeoutMs: 60_000,
    maxOutputBytes: 64 * 1024,
  });
  if (rmdir.code !== 0)
    throw new SetupError(`cannot prepare the volume's filesystem: ${describeToolFailure("debugfs", rmdir)}`);
}

/** Block counts read from an ext4 superblock. */
export interface Ext4Usage {
  readonly blockSize: number;
  readonly blocks: number;
  readonly freeBlocks: number;
  /** `(blocks - freeBlocks) * blockSize`: everything allocated, metadata included. */
  readonly allocatedBytes: number;
}

/** Parses the 1 KiB superblock (as read at offset 1024). Throws {@link InvalidStateError} when it is not ext4. */
export function parseSuperblock(sb: Buffer, what: string): Ext4Usage {
  if (sb.length < SUPERBLOCK_SIZE || sb.readUInt16LE(0x38) !== EXT4_MAGIC) {
    throw new InvalidStateError(`${what} does not hold an ext4 filesystem`);
  }
  const logBlockSize = sb.readUInt32LE(0x18);
  if (logBlockSize > 6) throw new InvalidStateError(`${what}: bad ext4 block size`);
  const blockSize = 1024 << logBlockSize;
  const is64 = (sb.readUInt32LE(0x60) & INCOMPAT_64BIT) !== 0;
  const blocks = sb.readUInt32LE(0x04) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const freeBlocks = sb.readUInt32LE(0x0c) + (is64 ? sb.readUInt32LE(0x158) * 2 ** 32 : 0);
  const allocated = Math.max(0, blocks - freeBlocks);
  return { blockSize, blocks, freeBlocks, allocatedBytes: allocated * blockSize };
}

/**
 * The superblock counts of the image at `path`. The kernel writes them back at unmount (and at some syncs): exact
 * when no VM has the image mounted, possibly behind while one does.
 */
export async function readExt4Usage(path: string): Promise<Ext4Usage> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(SUPERBLOCK_SIZE);
    const { bytesRead } = await handle.read(buffer, 0, SUPERBLOCK_SIZE, SUPERBLOCK_OFFSET);
    return parseSuperblock(buffer.subarray(0, bytesRead), path);
  } finally {
    await handle.close();
  }
}
