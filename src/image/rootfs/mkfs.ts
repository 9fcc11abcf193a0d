/** Runs mke2fs and debugfs (e2fsprogs >= 1.47) to turn a staging directory plus a tree model into an ext4 image. */
import { lstatSync } from "node:fs";
import { mkdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RootfsBuildError } from "../../errors.js";
import { describeToolFailure, runTool, type ImageTools } from "../tool.js";
import { debugfsScript } from "./debugfs-script.js";
import type { FsTree } from "./tree.js";

const BLOCK = 4096;
const MIB = 1024 * 1024;

/** Size and inode count of the filesystem to create. */
export interface Ext4Layout {
  readonly sizeBytes: number;
  readonly inodes: number;
}

/** Options of {@link planExt4}. */
export interface PlanOptions {
  /** Free space left for the sandbox's writes (they land in its qcow2 overlay). Default 1 GiB. */
  readonly headroomBytes?: number;
}

/**
 * Sizes the filesystem from the tree: data blocks of every inode, a block per directory and per slow symlink or
 * xattr block, 10% slack, metadata, plus headroom. The image file is sparse, so headroom costs no disk space.
 */
export function planExt4(tree: FsTree, options: PlanOptions = {}): Ext4Layout {
  const seen = new Set<number>();
  let blocks = 0;
  for (const [, inode] of tree.entries()) {
    if (seen.has(inode.id)) continue;
    seen.add(inode.id);
    blocks += Math.ceil(inode.size / BLOCK);
    if (inode.kind === "directory" || (inode.kind === "symlink" && (inode.target?.length ?? 0) >= 60))
      blocks += 1;
    if (inode.xattrs.size > 0) blocks += 1;
  }
  const inodes = Math.max(seen.size * 2 + 16_384, 65_536);
  const metadata = inodes * 256 + 64 * MIB;
  const raw = blocks * BLOCK * 1.1 + metadata + (options.headroomBytes ?? 1024 * MIB);
  return { sizeBytes: Math.ceil(raw / (4 * MIB)) * 4 * MIB, inodes };
}

/** Creates `image` (sparse, `layout.sizeBytes`) holding the staging tree, every file owned by root for now. */
export async function makeExt4(options: {
  image: string;
  staging: string;
  layout: Ext4Layout;
  label: string;
  tools: ImageTools;
}): Promise<void> {
  await writeFile(options.image, "");
  await truncate(options.image, options.layout.sizeBytes); // an existing sparse file lets mke2fs skip zeroing tables
  const args = [
    "-q",
    "-F",
    "-t",
    "ext4",
    "-b",
    String(BLOCK),
    "-N",
    String(options.layout.inodes),
    "-m",
    "0",
    "-L",
    options.label,
    "-E",
    "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1",
    "-d",
    options.staging,
    options.image,
  ];
  const result = await runE2fs(options.tools.mke2fs, args);
  if (result.code !== 0) throw new RootfsBuildError(describeToolFailure("mke2fs", result));
}

/**
 * Writes the debugfs script for `tree` (and its xattr value files) into `workDir`, comparing with what the staging
 * directory holds, so that only the differences are applied. Must run before the staging directory is removed.
 */
export async function writeMetadataScript(options: {
  tree: FsTree;
  staging: string;
  workDir: string;
}): Promise<string> {
  const valueDir = join(options.workDir, "xattrs");
  const script = debugfsScript(options.tree, {
    valueDir,
    hasLostFound: options.tree.get("lost+found") !== undefined,
    staged: (path) => {
      if (path === "") return { uid: -1, gid: -1, mode: -1 }; // mke2fs sets the root itself: always fix it
      const info = lstatSync(join(options.staging, path));
      return { uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
    },
  });
  await mkdir(valueDir, { recursive: true });
  for (const [name, value] of script.valueFiles) await writeFile(join(valueDir, name), value);
  const scriptPath = join(options.workDir, "debugfs.script");
  await writeFile(scriptPath, script.text);
  return scriptPath;
}

/** Applies a script from {@link writeMetadataScript} to `image` with one debugfs run. */
export async function applyMetadataScript(options: {
  image: string;
  script: string;
  tools: ImageTools;
}): Promise<void> {
  const result = await runE2fs(options.tools.debugfs, ["-w", "-f", options.script, options.image]);
  const problems = result.stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^debugfs \d/.test(line));
  if (result.code !== 0 || problems.length > 0) {
    throw new RootfsBuildError(
      `debugfs could not apply the image metadata: ${problems.slice(0, 5).join("; ") || describeToolFailure("debugfs", result)}`,
    );
  }
}

/** Runs `e2fsck -fn` (read-only check); throws {@link RootfsBuildError} with its report when the image is not clean. */
export async function checkExt4(options: { image: string; tools: ImageTools }): Promise<void> {
  const result = await runE2fs(options.tools.e2fsck, ["-fn", options.image]);
  if (result.code !== 0) {
    throw new RootfsBuildError(
      `e2fsck found problems in the built image: ${result.stdout.toString("utf8").slice(0, 2000)}`,
    );
  }
}

async function runE2fs(command: string, args: readonly string[]): ReturnType<typeof runTool> {
  try {
    return await runTool(command, { args, timeoutMs: 30 * 60_000, maxOutputBytes: 1024 * 1024 });
  } catch (error) {
    throw new RootfsBuildError(`cannot run ${command} (is e2fsprogs installed, with /sbin on PATH?)`, {
      cause: error,
    });
  }
}
