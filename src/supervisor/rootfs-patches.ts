/**
 * Preparing the guest before anything runs in it: rootfs patches (once, at create) and scripts (every boot),
 * through the agent's own file operations on the VM's root disk (the sandbox's qcow2 overlay, never the image's
 * base). Patches to `/etc/hosts` and `/etc/resolv.conf` go into the network set-up's generated files instead,
 * at every boot ({@link patchNetFiles}): those files are bind-mounted over the disk's.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AgentConnection } from "../agent-client/connection.js";
import { OperationWritable } from "../agent-client/operation-streams.js";
import type { ReplyError } from "../agent-client/reply-error.js";
import { FsError, PatchFailedError, ProtocolError } from "../errors.js";
import type { FsMessage, NetConfigureMessage } from "../protocol/messages.js";
import type { PatchConfig } from "../storage/patch.js";
import { patchTarget } from "../storage/patch.js";
import { netFileOf } from "../storage/patch-validate.js";

/** The guest directory of `scripts` (kept in step with `sdk/defaults.ts`). */
const SCRIPTS_DIR = "/.msb/scripts";

/** `net.configure` with the patches to `/etc/hosts` and `/etc/resolv.conf` applied to its generated files. */
export function patchNetFiles(
  message: NetConfigureMessage,
  patches: readonly PatchConfig[] | undefined,
): NetConfigureMessage {
  const files = { hosts: message.hosts, resolvConf: message.resolvConf };
  for (const patch of patches ?? []) {
    const file = patch.path === undefined ? undefined : netFileOf(patch.path);
    if (file === undefined) continue;
    const content = patch.content ?? "";
    if (patch.kind === "append") {
      const text = files[file];
      files[file] = text === "" || text.endsWith("\n") ? text + content : `${text}\n${content}`;
    } else if (patch.kind === "text" || patch.kind === "file") {
      files[file] = content;
    }
  }
  return { ...message, ...files };
}

/**
 * Applies `patches` in order (those to the generated network files aside). The first that fails throws a
 * {@link PatchFailedError} naming it (index, kind, guest path) with the cause.
 */
export async function applyPatches(agent: AgentConnection, patches: readonly PatchConfig[]): Promise<void> {
  for (const [index, patch] of patches.entries()) {
    const { path } = patchTarget(patch);
    if (netFileOf(path) !== undefined) continue;
    const guest = posix.normalize(path);
    try {
      await applyPatch(new GuestFiles(agent), patch, guest);
    } catch (err) {
      if (err instanceof PatchFailedError) throw err;
      const cause = err instanceof Error ? err.message : String(err);
      throw new PatchFailedError(index, patch.kind, guest, cause, err instanceof Error ? { cause: err } : {});
    }
  }
}

/**
 * Applies the patches unless `marker` (a host file) exists, then makes it, so that later boots skip them.
 * Returns whether they were applied now. A sandbox whose patches failed (its create failed, or its creator
 * died meanwhile and left it `crashed`) has no marker: its next start applies them again, and fails as loudly.
 * The guest's root filesystem is flushed (`fs.sync`) before the marker is made: a VM killed right after its
 * create must not come back without patches its marker says it has.
 */
export async function applyPatchesOnce(
  agent: AgentConnection,
  patches: readonly PatchConfig[] | undefined,
  marker: string | undefined,
): Promise<boolean> {
  if (patches === undefined || patches.length === 0 || marker === undefined || existsSync(marker))
    return false;
  await applyPatches(agent, patches);
  if (agent.features.has("fs.sync")) await new GuestFiles(agent).done({ type: "fs.sync", path: "/" });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return true;
}

/** Writes each script to `/.msb/scripts/<name>` with mode 0755 (replacing what is there). */
export async function writeScripts(
  agent: AgentConnection,
  scripts: Readonly<Record<string, string>> | undefined,
): Promise<void> {
  const entries = Object.entries(scripts ?? {});
  if (entries.length === 0) return;
  const files = new GuestFiles(agent);
  await files.done({ type: "fs.mkdir", path: SCRIPTS_DIR, mode: 0o755 });
  // Independent files: written concurrently (each is synced and renamed into place by the agent).
  await Promise.all(
    entries.map(([name, body]) =>
      files.write(posix.join(SCRIPTS_DIR, name), Readable.from([Buffer.from(body)]), { mode: 0o755 }),
    ),
  );
}

/** A refusal that is the patch's own fault (not an errno of the guest). */
class PatchRefused extends Error {}

async function applyPatch(files: GuestFiles, patch: PatchConfig, path: string): Promise<void> {
  const replace = patch.replace === true;
  const refuseExisting = async (): Promise<boolean> => {
    const kind = await files.kindOf(path);
    if (kind !== undefined && !replace)
      throw new PatchRefused(`${path} already exists (a ${kind}); set replace: true to overwrite it`);
    return kind !== undefined;
  };
  switch (patch.kind) {
    case "text":
    case "file": {
      await refuseExisting();
      // Without a mode the agent keeps a replaced file's mode, else gives 0o644.
      const mode = patch.mode === undefined ? {} : { mode: patch.mode };
      await files.write(path, Readable.from([Buffer.from(patch.content ?? "")]), mode);
      return;
    }
    case "append":
      await files.write(path, Readable.from([Buffer.from(patch.content ?? "")]), { append: true });
      return;
    case "mkdir": {
      const kind = await files.kindOf(path);
      if (kind !== undefined && kind !== "directory")
        throw new PatchRefused(`${path} already exists and is a ${kind}, not a directory`);
      await files.done({ type: "fs.mkdir", path, ...(patch.mode === undefined ? {} : { mode: patch.mode }) });
      return;
    }
    case "remove":
      try {
        await files.done({ type: "fs.remove", path, recursive: true });
      } catch (err) {
        if (!(err instanceof FsError && err.errno === "ENOENT")) throw err;
      }
      return;
    case "copyFile": {
      const src = patch.src ?? "";
      await refuseExisting();
      const mode = patch.mode ?? statSync(src).mode & 0o7777;
      await files.write(path, createReadStream(src), { mode });
      return;
    }
    case "copyDir": {
      if (await refuseExisting()) await files.done({ type: "fs.remove", path, recursive: true });
      const { packDirectory } = await import("../storage/host-archive.js");
      await files.archive(path, packDirectory(patch.src ?? "", undefined, { uid: 0, gid: 0 }));
      return;
    }
    case "symlink": {
      if (await refuseExisting()) await files.done({ type: "fs.remove", path, recursive: true });
      const link = await symlinkArchive(posix.basename(path), patch.target ?? "");
      await files.archive(posix.dirname(path), link);
      return;
    }
  }
}

/**
 * A tar stream holding one symlink `name` → `target`, owned by root. (The tar code is loaded by the patches
 * that need it only: every supervisor's start-up pays for what it imports.)
 */
async function symlinkArchive(name: string, target: string): Promise<Readable> {
  const { pack } = await import("tar-stream");
  const archive = pack();
  archive.entry({ name, type: "symlink", linkname: target, mode: 0o777, uid: 0, gid: 0 });
  archive.finalize();
  return Readable.from(archive as AsyncIterable<Buffer>);
}

/** The agent's file operations, as root, from the supervisor. */
class GuestFiles {
  readonly #agent: AgentConnection;
  constructor(agent: AgentConnection) {
    this.#agent = agent;
  }

  /** What is at `path` (a symlink as itself), or undefined when nothing is. */
  async kindOf(path: string): Promise<string | undefined> {
    try {
      const reply = await this.#agent.call({ type: "fs.stat", path }, replyError(path));
      if (reply.type !== "fs.stat.result") throw new ProtocolError(`fs.stat answered ${reply.type}`);
      return reply.kind;
    } catch (err) {
      if (err instanceof FsError && (err.errno === "ENOENT" || err.errno === "ENOTDIR")) return undefined;
      throw err;
    }
  }

  async done(message: FsMessage): Promise<void> {
    const reply = await this.#agent.call(message, replyError("path" in message ? message.path : ""));
    if (reply.type !== "fs.done") throw new ProtocolError(`${message.type} answered ${reply.type}`);
  }

  async write(path: string, data: Readable, options: { mode?: number; append?: boolean }): Promise<void> {
    const message: FsMessage = {
      type: "fs.write",
      path,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.append === true ? { append: true } : {}),
    };
    await pipeline(data, new OperationWritable(this.#agent, message, replyError(path)));
  }

  async archive(dir: string, tar: Readable): Promise<void> {
    const message: FsMessage = { type: "fs.archive.write", path: dir };
    await pipeline(tar, new OperationWritable(this.#agent, message, replyError(dir)));
  }
}

function replyError(path: string): ReplyError {
  return (reply) => new FsError(reply.code, path, `${path}: ${reply.message}`);
}
