/**
 * `SandboxFs`: the seed's guest file API, done by the agent itself (no shell), plus streams. Whole-file
 * methods (`read`, `write`) are built on `readStream`/`writeStream`, which hold a fixed amount of memory
 * whatever the file's size; `write` lands atomically (a reader never sees half a file, a failed write leaves the
 * old one). Directories copy between host and guest as tar streams, extracted on the host by a checker that
 * never writes outside the destination.
 */
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from "node:fs";
import type { Stats } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { explainedError } from "../agent-client/operation-streams.js";
import type { StreamOptions } from "../agent-client/operation-streams.js";
import type { ReplyError } from "../agent-client/reply-error.js";
import { FsError, InvalidConfigError, ProtocolError } from "../errors.js";
import type { AgentMessage, ErrorMessage, FsMessage } from "../protocol/messages.js";
import { MessageError, fsKind, int } from "../protocol/messages.js";
import type { SupervisorConnection } from "./connection.js";
import type * as HostArchive from "../storage/host-archive.js";

/** What an entry is. */
export type FsEntryKind = "file" | "directory" | "symlink" | "other";

/** The seed's `FsEntryKind` values. */
export const FsEntryKind = {
  File: "file",
  Directory: "directory",
  Symlink: "symlink",
  Other: "other",
} as const satisfies Record<string, FsEntryKind>;

/** One entry of {@link SandboxFs.list}. */
export interface FsEntry {
  /** Full guest path of the entry. */
  readonly path: string;
  readonly kind: FsEntryKind;
  readonly size: number;
  /** Permission bits (`0o755`...). */
  readonly mode: number;
  /** Modification time, ms since the epoch. */
  readonly modified?: number;
}

/** What {@link SandboxFs.stat} reports (a symlink is reported as itself, not its target). */
export interface FsMetadata {
  readonly kind: FsEntryKind;
  readonly size: number;
  readonly mode: number;
  /** True when the operation's user may not write it. */
  readonly readonly: boolean;
  readonly modified?: number;
  readonly created?: number;
  /** Owner (beyond the seed). */
  readonly uid: number;
  readonly gid: number;
  /** A symlink's target (beyond the seed). */
  readonly target?: string;
}

/** Options of {@link SandboxFs.readStream}: a byte range, `end` inclusive as in `fs.createReadStream`. */
export interface ReadStreamOptions {
  readonly start?: number;
  readonly end?: number;
}

/** Options of {@link SandboxFs.writeStream} and {@link SandboxFs.write}. */
export interface WriteOptions {
  /** Permission bits of the file (default: the old file's, else 0o644). */
  readonly mode?: number;
  /** Append in place instead of replacing the file atomically. */
  readonly append?: boolean;
}

/** Options of the host copies. */
export interface CopyOptions {
  /** Called as file bytes move, with the running total. */
  readonly onProgress?: (bytes: number) => void;
}

/** Options of `sandbox.fs()`. */
export interface SandboxFsOptions {
  /** Run every operation as this user (name, uid or `uid:gid`); default root. */
  readonly user?: string;
}

/** Longest line of a directory listing accepted from the guest. */
const MAX_LIST_LINE = 64 * 1024;

/** File access to one sandbox's guest. Get it from `sandbox.fs()`. */
export class SandboxFs {
  readonly #connection: SupervisorConnection;
  readonly #user: string | undefined;
  readonly #explain: (err: unknown) => Promise<unknown>;
  /** Streams end with the explained failure too (a lost sandbox's is a `SandboxCrashedError`). */
  readonly #streamOptions: StreamOptions;

  /** @internal `explain` turns a failure into the sandbox's own (a lost sandbox is a `SandboxCrashedError`). */
  constructor(
    connection: SupervisorConnection,
    options: SandboxFsOptions = {},
    explain: (err: unknown) => Promise<unknown> = (err) => Promise.resolve(err),
  ) {
    this.#connection = connection;
    this.#user = options.user;
    this.#explain = explain;
    this.#streamOptions = { explain };
  }

  /** The whole file. */
  async read(path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.readStream(path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The whole file as UTF-8 text. */
  async readString(path: string): Promise<string> {
    return (await this.read(path)).toString("utf8");
  }

  /** Writes a whole file atomically (parents created). */
  async write(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const sink = this.writeStream(path, options);
    await pipeline(Readable.from([Buffer.from(data)]), sink);
  }

  /** Streams a file, or the byte range `start..end` (inclusive) of it. */
  readStream(path: string, options: ReadStreamOptions = {}): Readable {
    const start = options.start ?? 0;
    checkOffset("start", start);
    if (options.end !== undefined) checkOffset("end", options.end);
    const length = options.end === undefined ? undefined : Math.max(0, options.end - start + 1);
    return this.#readable(
      this.#message({
        type: "fs.read",
        path: guestPath(path),
        offset: start,
        ...(length === undefined ? {} : { length }),
      }),
      fsReplyError(path),
    );
  }

  /**
   * A stream that writes a file (parents created). Without `append` the file is replaced atomically when the
   * stream finishes, and `finish` means the data is durable in the guest; destroying the stream first leaves
   * the old file as it was.
   */
  writeStream(path: string, options: WriteOptions = {}): Writable {
    if (options.mode !== undefined) checkMode(options.mode);
    return this.#writable(
      this.#message({
        type: "fs.write",
        path: guestPath(path),
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(options.append === true ? { append: true } : {}),
      }),
      fsReplyError(path),
    );
  }

  /** The entries of a directory (streamed from the guest: any number of entries). */
  async list(path: string): Promise<FsEntry[]> {
    const entries: FsEntry[] = [];
    for await (const entry of this.entries(path)) entries.push(entry);
    return entries;
  }

  /** The entries of a directory, one at a time as they arrive (beyond the seed). */
  async *entries(path: string): AsyncGenerator<FsEntry> {
    const dir = guestPath(path);
    const stream = this.#readable(this.#message({ type: "fs.list", path: dir }), fsReplyError(path));
    let pending = "";
    for await (const chunk of stream) {
      pending += (chunk as Buffer).toString("utf8");
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        yield parseEntry(dir, pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
      if (pending.length > MAX_LIST_LINE) {
        stream.destroy();
        throw new ProtocolError(`the guest sent a listing line over ${MAX_LIST_LINE} bytes`);
      }
    }
    if (pending !== "") throw new ProtocolError("the guest's listing ended inside a line");
  }

  /** Creates a directory and its parents (an existing directory is fine). */
  async mkdir(path: string, options: { mode?: number } = {}): Promise<void> {
    if (options.mode !== undefined) checkMode(options.mode);
    await this.#done(
      {
        type: "fs.mkdir",
        path: guestPath(path),
        ...(options.mode === undefined ? {} : { mode: options.mode }),
      },
      path,
    );
  }

  /** Removes a directory and everything in it (symlinks are removed, never followed). */
  async removeDir(path: string): Promise<void> {
    await this.#done({ type: "fs.remove", path: guestPath(path), recursive: true }, path);
  }

  /** Removes a file or symlink (or an empty directory). */
  async remove(path: string): Promise<void> {
    await this.#done({ type: "fs.remove", path: guestPath(path) }, path);
  }

  /** Copies a file inside the guest (contents and mode; parents created). */
  async copy(from: string, to: string): Promise<void> {
    await this.#done({ type: "fs.copy", from: guestPath(from, "from"), to: guestPath(to, "to") }, from, to);
  }

  /** Renames (moves) inside the guest; parents of `to` are created. */
  async rename(from: string, to: string): Promise<void> {
    await this.#done({ type: "fs.rename", from: guestPath(from, "from"), to: guestPath(to, "to") }, from, to);
  }

  /** Metadata of a path (a symlink is reported as itself). */
  async stat(path: string): Promise<FsMetadata> {
    const reply = await this.#call(this.#message({ type: "fs.stat", path: guestPath(path) }), path);
    if (reply.type !== "fs.stat.result") throw new ProtocolError(`fs.stat answered ${reply.type}`);
    return {
      kind: reply.kind,
      size: reply.size,
      mode: reply.mode,
      readonly: reply.readonly,
      modified: reply.modified,
      uid: reply.uid,
      gid: reply.gid,
      ...(reply.created === undefined ? {} : { created: reply.created }),
      ...(reply.target === undefined ? {} : { target: reply.target }),
    };
  }

  /** True when the path exists (a dangling symlink exists). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (err) {
      if (err instanceof FsError && (err.errno === "ENOENT" || err.errno === "ENOTDIR")) return false;
      throw err;
    }
  }

  /**
   * Copies a host file or directory into the guest, as `docker cp` does: into `guestPath` when that is an
   * existing directory, else to `guestPath` itself. Directories keep modes, symlinks (as links) and mtimes.
   */
  async copyFromHost(hostPath: string, guestTarget: string, options: CopyOptions = {}): Promise<void> {
    const source = statSync(hostPath);
    let target = guestPath(guestTarget);
    if (await this.#isDirectory(target)) target = posix.join(target, basename(hostPath));
    let total = 0;
    const progress = (n: number): void => {
      total += n;
      options.onProgress?.(total);
    };
    if (source.isDirectory()) {
      const { packDirectory } = await loadHostArchive();
      const sink = this.#writable(
        this.#message({ type: "fs.archive.write", path: target }),
        fsReplyError(target),
      );
      await pipeline(packDirectory(hostPath, progress), sink);
      return;
    }
    const file = createReadStream(hostPath);
    file.on("data", (chunk) => {
      progress(chunk.length);
    });
    await pipeline(file, this.writeStream(target, { mode: source.mode & 0o7777 }));
  }

  /**
   * Copies a guest file or directory to the host, as `docker cp` does: into `hostPath` when that is an existing
   * directory, else to `hostPath` itself. A file lands atomically (temporary file, then rename); a directory's
   * entries are checked (no absolute or `..` names, no symlink leading out, nothing written through a symlink).
   */
  async copyToHost(guestSource: string, hostPath: string, options: CopyOptions = {}): Promise<void> {
    const source = guestPath(guestSource);
    const meta = await this.stat(source);
    let target = hostPath;
    if (hostIsDirectory(hostPath)) target = join(hostPath, posix.basename(source));
    let total = 0;
    const progress = (n: number): void => {
      total += n;
      options.onProgress?.(total);
    };
    if (meta.kind === "directory") {
      const { extractArchive } = await loadHostArchive();
      const archive = this.#readable(
        this.#message({ type: "fs.archive.read", path: source }),
        fsReplyError(source),
      );
      await extractArchive(archive as AsyncIterable<Buffer>, target, { strip: 1, onBytes: progress });
      return;
    }
    const temp = join(dirname(target), `.${basename(target)}.msb-${process.pid}-${Date.now().toString(36)}`);
    try {
      const file = this.readStream(source);
      file.on("data", (chunk: Buffer) => {
        progress(chunk.length);
      });
      await pipeline(file, createWriteStream(temp, { mode: meta.mode & 0o777 }));
      renameSync(temp, target);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  async #isDirectory(path: string): Promise<boolean> {
    try {
      return (await this.stat(path)).kind === "directory";
    } catch (err) {
      if (err instanceof FsError && err.errno === "ENOENT") return false;
      throw err;
    }
  }

  async #done(message: FsMessage, ...paths: string[]): Promise<void> {
    const reply = await this.#call(this.#message(message), ...paths);
    if (reply.type !== "fs.done") throw new ProtocolError(`${message.type} answered ${reply.type}`);
  }

  async #call(message: FsMessage, ...paths: string[]): Promise<AgentMessage> {
    try {
      return await this.#connection.call(message, fsReplyError(...paths));
    } catch (err) {
      throw await this.#explain(err);
    }
  }

  /** An operation's output; on a connection already lost, a stream that fails with the explained error. */
  #readable(message: FsMessage, toError: ReplyError): Readable {
    return this.#opened(
      () => this.#connection.readable(message, toError, this.#streamOptions),
      () => new Readable({ read: () => undefined }),
    );
  }

  /** An operation's input; on a connection already lost, a sink that fails with the explained error. */
  #writable(message: FsMessage, toError: ReplyError): Writable {
    return this.#opened(
      () => this.#connection.writable(message, toError, this.#streamOptions),
      () => new Writable({ write: () => undefined }),
    );
  }

  /** `open()`'s stream, or when it throws (the connection is gone) `failed()`, destroyed with the explanation. */
  #opened<S extends Readable | Writable>(open: () => S, failed: () => S): S {
    try {
      return open();
    } catch (err) {
      const stream = failed();
      void explainedError(this.#explain, err).then((error) => stream.destroy(error));
      return stream;
    }
  }

  #message<M extends FsMessage>(message: M): M {
    return this.#user === undefined ? message : { ...message, user: this.#user };
  }
}

/** The tar code of the directory copies, loaded on their first use: importing the SDK need not pay for it. */
async function loadHostArchive(): Promise<typeof HostArchive> {
  return await import("../storage/host-archive.js");
}

/** Maps an `error` reply to an {@link FsError} naming the path of its field. */
function fsReplyError(...paths: string[]): ReplyError {
  return (reply: ErrorMessage) => {
    const path = reply.field === "to" ? (paths[1] ?? paths[0] ?? "") : (paths[0] ?? "");
    return new FsError(reply.code, path, `${path}: ${reply.message}`);
  };
}

function guestPath(path: string, field = "path"): string {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new InvalidConfigError(field, `must be an absolute guest path, got ${JSON.stringify(path)}`);
  }
  if (path.includes("\0")) throw new InvalidConfigError(field, "must not contain a NUL byte");
  return path;
}

function checkOffset(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidConfigError(field, "must be an integer >= 0");
}

function checkMode(mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidConfigError("mode", "must be permission bits from 0 to 0o7777");
  }
}

function hostIsDirectory(path: string): boolean {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  return st.isDirectory();
}

/** Parses one listing line from the guest (untrusted: every field checked). */
function parseEntry(dir: string, line: string): FsEntry {
  let obj: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new MessageError("not an object");
    obj = value as Record<string, unknown>;
  } catch (err) {
    throw new ProtocolError(`the guest sent a bad listing line: ${(err as Error).message}`);
  }
  const name = obj["name"];
  if (
    typeof name !== "string" ||
    name === "" ||
    name === "." ||
    name === ".." ||
    name.includes("/") ||
    name.includes("\0")
  ) {
    throw new ProtocolError(`the guest sent a bad entry name in a listing of ${dir}`);
  }
  try {
    const MS = Number.MAX_SAFE_INTEGER;
    return {
      path: posix.join(dir, name),
      kind: fsKind(obj, "kind"),
      size: int(obj, "size", 0, MS),
      mode: int(obj, "mode", 0, 0o7777),
      modified: int(obj, "modified", -MS, MS),
    };
  } catch (err) {
    throw new ProtocolError(`the guest sent a bad listing entry: ${(err as Error).message}`);
  }
}
