/**
 * Applies one layer's tar entries to the staging directory and the {@link FsTree}, in order, with OCI whiteouts
 * (`.wh.<name>` deletes a lower entry, `.wh..wh..opq` hides a directory's lower contents). Runs as any user: file
 * contents go to staging (owner-writable modes), while ownership, modes, devices and xattrs stay in the tree and are
 * applied to the ext4 image afterwards. Synchronous file I/O: many small files are far faster this way.
 */
import {
  chmodSync,
  closeSync,
  fchmodSync,
  futimesSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import type { TarBodySink, TarHeader } from "../tar/parser.js";
import { FsTree, TreeError, entryComponents, join, type Inode, type InodeKind } from "./tree.js";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const IN_STAGING: ReadonlySet<InodeKind> = new Set(["file", "directory", "symlink"]);

/** Options of {@link LayerApplier}. */
export interface LayerApplierOptions {
  /** Directory that receives file contents (created, empty). */
  readonly staging: string;
  /** Limit on paths in the final tree (default 2 million). */
  readonly maxEntries?: number;
}

/** Applies layers one after the other onto one tree. */
export class LayerApplier {
  readonly tree = new FsTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, xattrs: new Map() });
  readonly #staging: string;
  readonly #maxEntries: number;
  #layerPaths = new Set<string>();

  constructor(options: LayerApplierOptions) {
    this.#staging = options.staging;
    this.#maxEntries = options.maxEntries ?? 2_000_000;
  }

  /** Starts a new layer (whiteouts apply to what earlier layers created). */
  beginLayer(): void {
    this.#layerPaths = new Set();
  }

  /** Handles one tar entry; returns where its data goes (for regular files). Throws {@link TreeError}. */
  entry(header: TarHeader): TarBodySink | undefined {
    const components = entryComponents(header.name);
    const name = components.at(-1);
    if (name === undefined) {
      if (header.type === "directory") this.#updateMeta(this.tree.get("") as Inode, header);
      return undefined;
    }
    if (name.startsWith(WHITEOUT)) {
      this.#whiteout(components, name);
      return undefined;
    }
    if (this.tree.size >= this.#maxEntries)
      throw new TreeError(`the image has more than ${this.#maxEntries} entries`);
    const parent = this.#ensureParent(components);
    const path = join(parent, name);
    const existing = this.tree.get(path);
    this.#layerPaths.add(path);
    if (existing?.kind === "directory" && header.type === "directory") {
      this.#updateMeta(existing, header);
      return undefined;
    }
    if (existing !== undefined) this.#remove(path);
    return this.#create(path, header);
  }

  /**
   * Gives every staged path its final permission bits as far as the staging user can (owner read/write/search are
   * kept so mke2fs can read everything; special bits are left to debugfs) and its mtime. Runs after all layers:
   * directories must stay writable while layers are applied, and writing into them changes their mtime.
   */
  finish(): void {
    for (const [path, inode] of this.tree.entries()) {
      if (inode.kind !== "directory" && inode.kind !== "symlink") continue; // files were finished when written
      const host = this.#host(path);
      if (inode.kind !== "symlink") chmodSync(host, stagedMode(inode));
      if (path !== "") lutimesSync(host, inode.mtime, inode.mtime);
    }
  }

  #create(path: string, header: TarHeader): TarBodySink | undefined {
    const meta = {
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      mtime: header.mtime,
      xattrs: header.xattrs,
    };
    switch (header.type) {
      case "directory":
        mkdirSync(this.#host(path), { mode: 0o700 });
        this.tree.create(path, { ...meta, kind: "directory", size: 0 });
        return undefined;
      case "symlink":
        symlinkSync(header.linkname, this.#host(path));
        this.tree.create(path, { ...meta, kind: "symlink", size: 0, target: header.linkname });
        return undefined;
      case "hardlink":
        this.#hardlink(path, header.linkname);
        return undefined;
      case "char":
      case "block":
        this.tree.create(path, {
          ...meta,
          kind: header.type,
          size: 0,
          rdev: { major: header.devmajor, minor: header.devminor },
        });
        return undefined;
      case "fifo":
        this.tree.create(path, { ...meta, kind: "fifo", size: 0 });
        return undefined;
      case "file":
        return this.#file(path, header, meta);
    }
  }

  #file(path: string, header: TarHeader, meta: Omit<Inode, "id" | "kind" | "size">): TarBodySink {
    const fd = openSync(this.#host(path), "wx", 0o600);
    const inode = this.tree.create(path, { ...meta, kind: "file", size: header.size });
    let written = 0;
    return {
      data: (chunk) => {
        for (let offset = 0; offset < chunk.length;) offset += writeSync(fd, chunk, offset);
        written += chunk.length;
      },
      end: () => {
        fchmodSync(fd, stagedMode(inode)); // a file's metadata is final once written (later layers replace it)
        futimesSync(fd, inode.mtime, inode.mtime);
        closeSync(fd);
        if (written !== header.size)
          throw new TreeError(`${path}: ${written} bytes written, ${header.size} expected`);
      },
    };
  }

  #hardlink(path: string, linkname: string): void {
    const components = entryComponents(linkname);
    const name = components.at(-1);
    if (name === undefined) throw new TreeError(`hard link ${path} points at the root`);
    const parent = this.tree.resolveParent(components);
    const targetPath = join(parent.dir, name);
    const target = parent.missing.length > 0 ? undefined : this.tree.get(targetPath);
    if (target === undefined) {
      throw new TreeError(`hard link ${path} points at ${linkname}, which does not exist`);
    }
    if (target.kind === "directory")
      throw new TreeError(`hard link ${path} points at the directory ${linkname}`);
    if (IN_STAGING.has(target.kind)) linkSync(this.#host(targetPath), this.#host(path));
    this.tree.link(path, target);
  }

  #ensureParent(components: readonly string[]): string {
    const { dir, missing } = this.tree.resolveParent(components);
    let current = dir;
    for (const component of missing) {
      current = join(current, component);
      mkdirSync(this.#host(current), { mode: 0o700 });
      this.tree.create(current, {
        kind: "directory",
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
        size: 0,
        xattrs: new Map(),
      });
      this.#layerPaths.add(current);
    }
    return current;
  }

  #whiteout(components: readonly string[], name: string): void {
    const { dir, missing } = this.tree.resolveParent(components);
    if (missing.length > 0) return;
    if (name === OPAQUE) {
      this.#hideLower(dir);
    } else if (!name.startsWith(`${WHITEOUT}${WHITEOUT}`)) {
      const victim = join(dir, name.slice(WHITEOUT.length));
      if (!this.#layerPaths.has(victim)) this.#remove(victim);
    }
  }

  /** Removes everything under `dir` that earlier layers put there (keeps what this layer added). */
  #hideLower(dir: string): void {
    for (const name of this.tree.children(dir)) {
      const path = join(dir, name);
      if (!this.#layerPaths.has(path)) this.#remove(path);
      else if (this.tree.get(path)?.kind === "directory") this.#hideLower(path);
    }
  }

  #remove(path: string): void {
    const inode = this.tree.get(path);
    if (inode === undefined) return;
    if (inode.kind === "directory") rmSync(this.#host(path), { recursive: true, force: true });
    else if (IN_STAGING.has(inode.kind)) unlinkSync(this.#host(path));
    this.tree.remove(path);
  }

  #updateMeta(inode: Inode, header: TarHeader): void {
    inode.mode = header.mode;
    inode.uid = header.uid;
    inode.gid = header.gid;
    inode.mtime = header.mtime;
    inode.xattrs = header.xattrs;
  }

  #host(path: string): string {
    return path === "" ? this.#staging : `${this.#staging}/${path}`;
  }
}

/** The permission bits a staged file or directory gets: the image's, plus what the staging user needs to read it. */
export function stagedMode(inode: Pick<Inode, "kind" | "mode">): number {
  return (inode.mode & 0o777) | (inode.kind === "directory" ? 0o700 : 0o600);
}
