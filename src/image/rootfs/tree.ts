/**
 * The in-memory model of the root filesystem being built: path -> inode, with the metadata the tar headers ask
 * for (which the staging directory on the host cannot hold without root). Hard links share one {@link Inode}.
 * Symlinks in parent components are resolved inside the tree, never on the host.
 */

/** Inode kinds of the built filesystem. */
export type InodeKind = "file" | "directory" | "symlink" | "char" | "block" | "fifo";

/** Metadata of one inode, as the image's layers define it. */
export interface Inode {
  readonly id: number;
  readonly kind: InodeKind;
  /** Permission and special bits (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Bytes of a regular file (0 otherwise). */
  size: number;
  /** Target of a symlink. */
  readonly target?: string;
  /** Device numbers of a char or block device. */
  readonly rdev?: { readonly major: number; readonly minor: number };
  xattrs: ReadonlyMap<string, Buffer>;
}

/** Fields of a new inode (the id is assigned by the tree). */
export type NewInode = Omit<Inode, "id">;

/** Thrown for entries that cannot be placed (escape attempts, a file used as a directory, symlink loops). */
export class TreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TreeError";
  }
}

const MAX_SYMLINK_HOPS = 40;

/** A parent directory resolved inside the tree, plus the components under it that do not exist yet. */
export interface ResolvedParent {
  /** Existing directory (`""` is the root). */
  readonly dir: string;
  /** Components to create under `dir`, in order, before the final one. */
  readonly missing: readonly string[];
}

/** The tree. Paths are relative to the root without a leading slash; `""` is the root. */
export class FsTree {
  readonly #nodes = new Map<string, Inode>();
  readonly #children = new Map<string, Set<string>>();
  #nextId = 1;

  constructor(root: Omit<NewInode, "kind">) {
    this.#nodes.set("", { ...root, kind: "directory", id: this.#nextId++ });
    this.#children.set("", new Set());
  }

  /** The inode at `path`, if any. */
  get(path: string): Inode | undefined {
    return this.#nodes.get(path);
  }

  /** Number of paths (hard links count once per path). */
  get size(): number {
    return this.#nodes.size;
  }

  /** Creates a new inode at `path`; its parent must be an existing directory and `path` must be free. */
  create(path: string, inode: NewInode): Inode {
    const created: Inode = { ...inode, id: this.#nextId++ };
    this.link(path, created);
    return created;
  }

  /** Makes `path` another name of `inode` (a hard link). */
  link(path: string, inode: Inode): void {
    const { parent, name } = split(path);
    const siblings = this.#children.get(parent);
    if (siblings === undefined) throw new TreeError(`parent of ${path} is not a directory`);
    if (this.#nodes.has(path)) throw new TreeError(`${path} already exists`);
    siblings.add(name);
    this.#nodes.set(path, inode);
    if (inode.kind === "directory") this.#children.set(path, new Set());
  }

  /** Removes `path` and, for a directory, everything below it. Returns the removed paths. */
  remove(path: string): string[] {
    if (path === "" || !this.#nodes.has(path)) return [];
    const removed: string[] = [];
    for (const name of this.#children.get(path) ?? []) removed.push(...this.remove(join(path, name)));
    this.#children.delete(path);
    this.#nodes.delete(path);
    const { parent, name } = split(path);
    this.#children.get(parent)?.delete(name);
    removed.push(path);
    return removed;
  }

  /** Names directly under the directory `path`. */
  children(path: string): readonly string[] {
    return [...(this.#children.get(path) ?? [])];
  }

  /** Every (path, inode), parents before children. */
  *entries(): IterableIterator<[string, Inode]> {
    yield* this.#nodes.entries();
  }

  /**
   * Resolves the directory that will hold `components`' last element, following symlinks of the parent components
   * inside the tree (an absolute target restarts at the root, `..` stops at the root), as a chroot would.
   */
  resolveParent(components: readonly string[]): ResolvedParent {
    const queue = components.slice(0, -1);
    const resolved: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const component = queue.shift() ?? "";
      if (component === "" || component === ".") continue;
      if (component === "..") {
        resolved.pop();
        continue;
      }
      const path = join(resolved.join("/"), component);
      const node = this.#nodes.get(path);
      if (node === undefined) {
        const missing = [component, ...queue].filter((c) => c !== "" && c !== ".");
        if (missing.includes(".."))
          throw new TreeError(`cannot resolve ${components.join("/")}: ".." below a missing directory`);
        return { dir: resolved.join("/"), missing };
      }
      if (node.kind === "directory") {
        resolved.push(component);
      } else if (node.kind === "symlink" && node.target !== undefined) {
        if (++hops > MAX_SYMLINK_HOPS)
          throw new TreeError(`too many levels of symbolic links in ${components.join("/")}`);
        if (node.target.startsWith("/")) resolved.length = 0;
        queue.unshift(...node.target.split("/"));
      } else {
        throw new TreeError(`${path} is not a directory (needed by ${components.join("/")})`);
      }
    }
    return { dir: resolved.join("/"), missing: [] };
  }
}

/** Joins a directory path and a name (`""` is the root). */
export function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function split(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf("/");
  return slash === -1
    ? { parent: "", name: path }
    : { parent: path.slice(0, slash), name: path.slice(slash + 1) };
}

/**
 * Splits a tar entry name into safe components: strips `./` and leading `/`, drops empty and `.` components, and
 * rejects `..` (layers are untrusted: a `..` entry is an escape attempt) and names debugfs could not express.
 */
export function entryComponents(name: string): string[] {
  if (/[\n\r\0]/.test(name))
    throw new TreeError(`entry name ${JSON.stringify(name)} contains a newline or NUL`);
  const components = name.split("/").filter((c) => c !== "" && c !== ".");
  if (components.includes(".."))
    throw new TreeError(`entry ${JSON.stringify(name)} contains ".." (path traversal)`);
  if (components.some((c) => Buffer.byteLength(c) > 255))
    throw new TreeError(`entry ${JSON.stringify(name)} has a component longer than 255 bytes`);
  return components;
}
