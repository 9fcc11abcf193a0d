/**
 * Local roots: `image` given as a host path (`/`, `./`, `../`). A directory becomes a root disk of its own (an
 * ext4 image built from the tree with `mke2fs -d`, as an image's layers are), a `.qcow2`/`.raw` file is used
 * as the read-only backing file of the sandbox's qcow2 overlay (never written). A disk is checked first: its
 * format with `qemu-img info` (it must be what its name says, and a qcow2 must not name a backing file of its
 * own), and its filesystem (the ext4 superblock magic, read through `qemu-img dd` for a qcow2).
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, open, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { ImageNotFoundError, InvalidConfigError, RootfsBuildError } from "../../errors.js";
import { tempPath, unlinkIfPresent } from "../fs-util.js";
import { describeToolFailure, runTool } from "../tool.js";
import type { ImageTools } from "../tool.js";
import { makeExt4 } from "./mkfs.js";
import type { Ext4Layout } from "./mkfs.js";
import { createOverlay } from "./overlay.js";
import type { RootDisk } from "./overlay.js";

/** A local root, resolved: an absolute path and what it is. */
export interface LocalRoot {
  readonly path: string;
  readonly kind: "directory" | "qcow2" | "raw";
}

/** True when `image` names a host path rather than an OCI reference. */
export function isLocalImage(image: string): boolean {
  return image.startsWith("/") || image.startsWith("./") || image.startsWith("../");
}

/**
 * Resolves a local `image` against `cwd`. Throws {@link ImageNotFoundError} when nothing is there and
 * {@link InvalidConfigError} (`image`) when it is neither a directory nor a `.qcow2`/`.raw` file.
 */
export function resolveLocalImage(image: string, cwd: string): LocalRoot {
  const path = resolve(cwd, image);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new ImageNotFoundError(path, `local image ${path} does not exist`, {
        hint: "a local image is a host path to a root directory or a .qcow2/.raw disk",
      });
    }
    throw err;
  }
  if (st.isDirectory()) return { path, kind: "directory" };
  const ext = extname(path).toLowerCase();
  if (st.isFile() && (ext === ".qcow2" || ext === ".raw"))
    return { path, kind: ext === ".qcow2" ? "qcow2" : "raw" };
  throw new InvalidConfigError("image", `${path} is neither a directory nor a .qcow2 or .raw disk image`);
}

/** Makes the sandbox's root disk (`path`, a qcow2) from a local root; scratch files go in `path`'s directory. */
export async function createLocalRootDisk(
  root: LocalRoot,
  path: string,
  tools: ImageTools,
): Promise<RootDisk> {
  if (root.kind === "directory") {
    const base = join(dirname(path), "base.ext4");
    await buildFromDirectory(root.path, base, tools);
    return createOverlay({ base, path });
  }
  await checkDisk(root, tools);
  return createOverlay({ base: root.path, baseFormat: root.kind, path });
}

/** Builds an ext4 image holding the tree at `dir` (owners, modes, symlinks as on the host; root owns `/`). */
async function buildFromDirectory(dir: string, image: string, tools: ImageTools): Promise<void> {
  const scratch = tempPath(dirname(image), ".base");
  try {
    await makeExt4({ image: scratch, staging: dir, layout: planTree(dir), label: "msb-root", tools });
    await rename(scratch, image);
  } catch (err) {
    await unlinkIfPresent(scratch);
    if (err instanceof RootfsBuildError)
      throw new RootfsBuildError(`cannot build a root disk from ${dir}: ${err.message}`);
    throw err;
  }
}

/** Sizes the filesystem for the tree at `dir` (as `planExt4` does for an image's tree), with 1 GiB to spare. */
export function planTree(dir: string): Ext4Layout {
  let blocks = 0;
  let inodes = 0;
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const name of readdirSync(current)) {
      const full = join(current, name);
      const st = lstatSync(full);
      inodes += 1;
      blocks += Math.ceil(st.size / 4096) + (st.isDirectory() ? 1 : 0);
      if (st.isDirectory()) pending.push(full);
    }
  }
  const MIB = 1024 * 1024;
  const inodeCount = Math.max(inodes * 2 + 16_384, 65_536);
  const raw = blocks * 4096 * 1.1 + inodeCount * 256 + 64 * MIB + 1024 * MIB;
  return { sizeBytes: Math.ceil(raw / (4 * MIB)) * 4 * MIB, inodes: inodeCount };
}

/** Refuses a disk whose format is not its name's, a qcow2 with a backing file, or one without an ext4 root. */
async function checkDisk(root: LocalRoot, tools: ImageTools): Promise<void> {
  const info = await runTool(tools.qemuImg, {
    // Probed, not forced: a .raw file that looks like a qcow2 (or the other way round) is refused.
    args: ["info", "--output=json", root.path],
    timeoutMs: 60_000,
    maxOutputBytes: 1024 * 1024,
  });
  if (info.code !== 0) {
    throw new InvalidConfigError(
      "image",
      `${root.path} is not a ${root.kind} disk image: ${describeToolFailure("qemu-img", info)}`,
    );
  }
  const parsed = parseImageInfo(info.stdout.toString("utf8"));
  if (parsed.format !== root.kind)
    throw new InvalidConfigError("image", `${root.path} is a ${parsed.format} disk, not ${root.kind}`);
  if (parsed.backing !== undefined) {
    throw new InvalidConfigError("image", `${root.path} names a backing file (${parsed.backing})`, {
      hint: "flatten it first: qemu-img convert -O qcow2 in.qcow2 out.qcow2",
    });
  }
  if (!hasExt4Magic(await readSuperblock(root, tools)))
    throw new InvalidConfigError(
      "image",
      `${root.path} has no ext4 filesystem at its start (the root must be ext4)`,
      {
        hint: "a local disk is a whole-disk ext4 filesystem (mkfs.ext4 -d <dir> disk.raw), without a partition table",
      },
    );
}

/** What `qemu-img info --output=json` says that matters here. */
export function parseImageInfo(text: string): { format: string; backing?: string } {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null)
    throw new RootfsBuildError("qemu-img info printed no object");
  const doc = value as Record<string, unknown>;
  const format = doc["format"];
  if (typeof format !== "string") throw new RootfsBuildError("qemu-img info printed no format");
  const backing = doc["backing-filename"] ?? doc["full-backing-filename"];
  return typeof backing === "string" ? { format, backing } : { format };
}

/** The ext4 superblock's magic (0xEF53, little-endian at byte 1080 of the filesystem) is in `head`. */
export function hasExt4Magic(head: Buffer): boolean {
  return head.length >= 1082 && head.readUInt16LE(1080) === 0xef53;
}

/** The first 2 KiB of the disk's contents (through `qemu-img dd` for a qcow2). */
async function readSuperblock(root: LocalRoot, tools: ImageTools): Promise<Buffer> {
  if (root.kind === "raw") {
    const file = await open(root.path, "r");
    try {
      const head = Buffer.alloc(2048);
      const { bytesRead } = await file.read(head, 0, 2048, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "msb-superblock-"));
  try {
    const out = join(dir, "head.raw");
    const result = await runTool(tools.qemuImg, {
      args: ["dd", "-f", "qcow2", "-O", "raw", "bs=2048", "count=1", `if=${root.path}`, `of=${out}`],
      timeoutMs: 60_000,
    });
    if (result.code !== 0)
      throw new InvalidConfigError(
        "image",
        `cannot read ${root.path}: ${describeToolFailure("qemu-img", result)}`,
      );
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
