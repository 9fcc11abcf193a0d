/**
 * Generates the `debugfs -w -f` script that gives the ext4 image what a rootless staging directory cannot hold:
 * owners, exact modes (setuid, sticky, no owner-write), device nodes and fifos, xattrs. Pure: the caller writes
 * the xattr value files listed in {@link DebugfsScript.valueFiles}.
 */
import type { FsTree, Inode } from "./tree.js";

/** The script and the xattr values it reads with `ea_set -f`. */
export interface DebugfsScript {
  readonly text: string;
  /** File name (relative to the value directory) -> bytes. */
  readonly valueFiles: ReadonlyMap<string, Buffer>;
}

const TYPE_BITS: Readonly<Record<Inode["kind"], number>> = {
  fifo: 0o010000,
  char: 0o020000,
  directory: 0o040000,
  block: 0o060000,
  file: 0o100000,
  symlink: 0o120000,
};

/** xattr namespaces ext4 stores; others (e.g. macOS `com.apple.*`) are dropped, as Docker does. */
const XATTR_PREFIXES = [
  "user.",
  "trusted.",
  "security.",
  "system.posix_acl_access",
  "system.posix_acl_default",
];

/** Quotes a path for debugfs' parser: wrap in double quotes, double any quote inside. */
export function quote(path: string): string {
  return `"${path.replaceAll('"', '""')}"`;
}

/** Linux `new_encode_dev`: the device number debugfs stores in `block[1]` for large majors/minors. */
export function encodeDevice(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Owner and mode of a path as mke2fs will copy it from the staging directory. */
export interface StagedAttributes {
  readonly uid: number;
  readonly gid: number;
  /** Permission and special bits (`0o7777`). */
  readonly mode: number;
}

/** Options of {@link debugfsScript}. */
export interface DebugfsScriptOptions {
  /** Where the caller will put the xattr value files. */
  readonly valueDir: string;
  /** Whether the image itself has `/lost+found` (mke2fs always makes one; it is removed otherwise). */
  readonly hasLostFound: boolean;
  /** What the staging directory holds for a path (from lstat): only differences are written to the script. */
  readonly staged: (path: string) => StagedAttributes;
}

/** Builds the script. */
export function debugfsScript(tree: FsTree, options: DebugfsScriptOptions): DebugfsScript {
  const lines: string[] = [];
  const valueFiles = new Map<string, Buffer>();
  const firstPath = new Map<number, string>();
  for (const [path, inode] of tree.entries()) {
    const abs = `/${path}`;
    const seen = firstPath.get(inode.id);
    if (seen !== undefined) {
      if (!isStaged(inode))
        lines.push(
          `ln ${quote(seen)} ${quote(abs)}`,
          `sif ${quote(seen)} links_count ${countLinks(tree, inode)}`,
        );
      continue;
    }
    firstPath.set(inode.id, abs);
    const staged = isStaged(inode) ? options.staged(path) : undefined;
    if (staged === undefined) lines.push(...mknod(abs, inode));
    if (staged?.uid !== inode.uid) lines.push(`sif ${quote(abs)} uid ${inode.uid}`);
    if (staged?.gid !== inode.gid) lines.push(`sif ${quote(abs)} gid ${inode.gid}`);
    if (staged?.mode !== inode.mode && inode.kind !== "symlink")
      lines.push(`sif ${quote(abs)} mode 0${(TYPE_BITS[inode.kind] | inode.mode).toString(8)}`);
    if (staged === undefined) lines.push(`sif ${quote(abs)} mtime @${Math.floor(inode.mtime)}`);
    for (const [name, value] of inode.xattrs) {
      if (!XATTR_PREFIXES.some((prefix) => name.startsWith(prefix)) || /[\s"]/.test(name)) continue;
      const file = `v${valueFiles.size}`;
      valueFiles.set(file, value);
      lines.push(`ea_set -f ${quote(`${options.valueDir}/${file}`)} ${quote(abs)} ${name}`);
    }
  }
  if (!options.hasLostFound) lines.push(`rmdir "/lost+found"`);
  return { text: `${lines.join("\n")}\n`, valueFiles };
}

function isStaged(inode: Inode): boolean {
  return inode.kind === "file" || inode.kind === "directory" || inode.kind === "symlink";
}

function mknod(abs: string, inode: Inode): string[] {
  const slash = abs.lastIndexOf("/");
  const dir = slash === 0 ? "/" : abs.slice(0, slash);
  const name = abs.slice(slash + 1);
  if (inode.kind === "fifo") return [`cd ${quote(dir)}`, `mknod ${quote(name)} p`, `cd "/"`];
  const { major, minor } = inode.rdev ?? { major: 0, minor: 0 };
  const type = inode.kind === "char" ? "c" : "b";
  if (major < 256 && minor < 256)
    return [`cd ${quote(dir)}`, `mknod ${quote(name)} ${type} ${major} ${minor}`, `cd "/"`];
  return [
    `cd ${quote(dir)}`,
    `mknod ${quote(name)} ${type} 0 0`,
    `cd "/"`,
    `sif ${quote(abs)} block[0] 0`,
    `sif ${quote(abs)} block[1] ${encodeDevice(major, minor)}`,
  ];
}

function countLinks(tree: FsTree, inode: Inode): number {
  let count = 0;
  for (const [, other] of tree.entries()) if (other === inode) count++;
  return count;
}
