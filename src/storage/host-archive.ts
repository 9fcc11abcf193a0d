/**
 * Directory trees between the host and a guest, as tar streams. Packing a host directory is trusted work;
 * extracting what a guest sent is not: entry names are checked (no absolute names, no `..`), nothing is ever
 * written through a symlink (parents must be real directories; files are opened with O_NOFOLLOW), symlinks
 * whose target would lead out of the destination are refused, hard links must point at a regular file already
 * extracted, devices and FIFOs are refused, and metadata headers are bounded by the parser.
 */
import {
  closeSync,
  futimesSync,
  fchmodSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  chmodSync,
  utimesSync,
  symlinkSync,
  writeSync,
  createReadStream,
} from "node:fs";
import type { Stats } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { Readable } from "node:stream";
import { pack } from "tar-stream";
import type { Pack } from "tar-stream";
import { FsError } from "../errors.js";
import { TarParser } from "../image/tar/parser.js";
import type { TarBodySink, TarHeader } from "../image/tar/parser.js";

/** Owner given to every entry instead of the host's (`{ uid: 0, gid: 0 }` for files that belong to root). */
export interface PackOwner {
  readonly uid: number;
  readonly gid: number;
}

/** Packs the host directory `root` (its contents, names relative to it) into a tar stream. */
export function packDirectory(root: string, onBytes?: (n: number) => void, owner?: PackOwner): Readable {
  return Readable.from(packTree(root, onBytes, owner) as AsyncIterable<Buffer>);
}

function packTree(root: string, onBytes?: (n: number) => void, owner?: PackOwner): Pack {
  const archive = pack();
  void (async () => {
    try {
      await addTree(archive, root, "", onBytes, owner);
      archive.finalize();
    } catch (err) {
      archive.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  return archive;
}

async function addTree(
  archive: Pack,
  root: string,
  rel: string,
  onBytes?: (n: number) => void,
  owner?: PackOwner,
): Promise<void> {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const entryRel = rel === "" ? name : `${rel}/${name}`;
    const full = join(root, entryRel);
    const st = lstatSync(full);
    const ids = owner ?? { uid: st.uid, gid: st.gid };
    const common = { name: entryRel, mode: st.mode & 0o7777, mtime: st.mtime, uid: ids.uid, gid: ids.gid };
    if (st.isDirectory()) {
      await addEntry(archive, { ...common, type: "directory" });
      await addTree(archive, root, entryRel, onBytes, owner);
    } else if (st.isSymbolicLink()) {
      await addEntry(archive, { ...common, type: "symlink", linkname: readlinkSync(full) });
    } else if (st.isFile()) {
      await addFile(archive, full, { ...common, size: st.size }, onBytes);
    }
    // sockets, devices and FIFOs of the host are not copied
  }
}

function addEntry(archive: Pack, header: Parameters<Pack["entry"]>[0]): Promise<void> {
  return new Promise((resolve, reject) => {
    archive.entry(header, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

function addFile(
  archive: Pack,
  path: string,
  header: { name: string; mode: number; mtime: Date; uid: number; gid: number; size: number },
  onBytes?: (n: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = archive.entry({ ...header, type: "file" }, (err) => {
      if (err) reject(err);
      else resolve();
    });
    const source = createReadStream(path);
    source.on("data", (chunk) => onBytes?.(chunk.length));
    source.once("error", reject);
    source.pipe(sink);
  });
}

/** Options of {@link extractArchive}. */
export interface ExtractOptions {
  /** Leading name components to drop (the guest names entries after the copied directory itself). */
  readonly strip: number;
  /** Called with the byte count of each file chunk written. */
  readonly onBytes?: (n: number) => void;
}

/** Extracts a tar stream sent by a guest into the host directory `root` (created if missing). */
export async function extractArchive(
  source: AsyncIterable<Buffer>,
  root: string,
  options: ExtractOptions,
): Promise<void> {
  mkdirSync(root, { recursive: true });
  const extractor = new Extractor(root, options);
  const parser = new TarParser((header) => extractor.entry(header), { maxMetaBytes: 256 * 1024 });
  try {
    for await (const chunk of source) parser.write(chunk);
    parser.end();
    extractor.finish();
  } finally {
    extractor.close();
  }
}

const refuse = (name: string, why: string): FsError =>
  new FsError("EINVAL", name, `refusing archive entry ${JSON.stringify(name.slice(0, 256))}: ${why}`, {
    hint: "nothing outside the destination was written",
  });

/** The checks and writes of one extraction. */
class Extractor {
  readonly #root: string;
  readonly #strip: number;
  readonly #onBytes: ((n: number) => void) | undefined;
  readonly #dirTimes: { path: string; mtime: number; mode: number }[] = [];
  #openFd: number | undefined;

  constructor(root: string, options: ExtractOptions) {
    this.#root = normalize(root);
    this.#strip = options.strip;
    this.#onBytes = options.onBytes;
  }

  entry(header: TarHeader): TarBodySink | undefined {
    const rel = this.#relative(header.name);
    if (rel === undefined) {
      // The copied directory itself: the destination takes its mode and mtime.
      if (header.type === "directory")
        this.#dirTimes.push({ path: this.#root, mtime: header.mtime, mode: header.mode & 0o7777 });
      return undefined;
    }
    const dest = join(this.#root, rel);
    this.#checkParents(header.name, dirname(dest));
    switch (header.type) {
      case "directory":
        this.#directory(header, dest);
        return undefined;
      case "file":
        return this.#file(header, dest);
      case "symlink":
        this.#symlink(header, dest, rel);
        return undefined;
      case "hardlink":
        this.#hardlink(header, dest);
        return undefined;
      case "char":
      case "block":
      case "fifo":
        throw refuse(header.name, `${header.type} entries are not copied`);
    }
  }

  /** Applies directory modes and mtimes last (creating children changes a directory's mtime). */
  finish(): void {
    for (const dir of this.#dirTimes.reverse()) {
      chmodSync(dir.path, dir.mode);
      utimesSync(dir.path, dir.mtime, dir.mtime);
    }
  }

  close(): void {
    if (this.#openFd !== undefined) closeSync(this.#openFd);
    this.#openFd = undefined;
  }

  /** The entry's path below the root after stripping, or undefined for the root itself. */
  #relative(name: string): string | undefined {
    if (name.includes("\0") || isAbsolute(name) || name.startsWith("\\")) throw refuse(name, "absolute name");
    const parts = name.split("/").filter((p) => p !== "" && p !== ".");
    if (parts.includes("..")) throw refuse(name, "a '..' component");
    const kept = parts.slice(this.#strip);
    if (kept.length === 0) {
      if (parts.length < this.#strip) throw refuse(name, "outside the copied directory");
      return undefined;
    }
    return kept.join(sep);
  }

  /** Every existing component between the root and `dir` must be a real directory (never a symlink). */
  #checkParents(name: string, dir: string): void {
    const rel = relative(this.#root, dir);
    let current = this.#root;
    for (const part of rel === "" ? [] : rel.split(sep)) {
      current = join(current, part);
      let st: Stats;
      try {
        st = lstatSync(current);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
          mkdirSync(current, { mode: 0o755 });
          continue;
        }
        throw err;
      }
      if (!st.isDirectory()) throw refuse(name, `its parent ${part} is not a directory`);
    }
  }

  #directory(header: TarHeader, dest: string): void {
    const st = lstatOrUndefined(dest);
    if (st !== undefined && !st.isDirectory())
      throw refuse(header.name, "a directory over an existing non-directory");
    if (st === undefined) mkdirSync(dest, { mode: 0o700 });
    this.#dirTimes.push({ path: dest, mtime: header.mtime, mode: header.mode & 0o7777 });
  }

  #file(header: TarHeader, dest: string): TarBodySink {
    const st = lstatOrUndefined(dest);
    if (st !== undefined && !st.isFile()) throw refuse(header.name, "a file over an existing non-file");
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
    const fd = openSync(dest, flags, 0o600);
    this.#openFd = fd;
    return {
      data: (chunk) => {
        let offset = 0;
        while (offset < chunk.length) offset += writeSync(fd, chunk, offset);
        this.#onBytes?.(chunk.length);
      },
      end: () => {
        fchmodSync(fd, header.mode & 0o7777);
        futimesSync(fd, header.mtime, header.mtime);
        closeSync(fd);
        this.#openFd = undefined;
      },
    };
  }

  #symlink(header: TarHeader, dest: string, rel: string): void {
    const target = header.linkname;
    if (target === "" || target.includes("\0") || isAbsolute(target)) {
      throw refuse(
        header.name,
        `a symlink to ${JSON.stringify(target.slice(0, 256))} leads out of the destination`,
      );
    }
    const resolved = normalize(join(dirname(rel), target));
    if (resolved === ".." || resolved.startsWith(`..${sep}`)) {
      throw refuse(
        header.name,
        `a symlink to ${JSON.stringify(target.slice(0, 256))} leads out of the destination`,
      );
    }
    if (lstatOrUndefined(dest) !== undefined) throw refuse(header.name, "a symlink over an existing entry");
    symlinkSync(target, dest);
  }

  #hardlink(header: TarHeader, dest: string): void {
    const targetRel = this.#relative(header.linkname);
    if (targetRel === undefined) throw refuse(header.name, "a hard link to the copied directory");
    const target = join(this.#root, targetRel);
    this.#checkParents(header.name, dirname(target));
    const st = lstatOrUndefined(target);
    if (st === undefined || !st.isFile())
      throw refuse(header.name, "a hard link to something that is not a copied file");
    if (lstatOrUndefined(dest) !== undefined) throw refuse(header.name, "a hard link over an existing entry");
    linkSync(target, dest);
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
