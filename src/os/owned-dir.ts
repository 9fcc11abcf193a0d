/**
 * Directories that say who owns them through a file inside, not through their name: for a VM run directory, whose
 * name must stay short (its sockets' paths fit in 107 bytes), `<parent>/<12 hex>` like a sandbox's (both named by
 * `socket-path.ts`), but whose owner (a template being made, a warm spare VM, a bare VM) may die without removing
 * it. The `owner` file holds the process's pid and start time, as scratch names do (`scratch-name.ts`); a cleaner
 * removes such a directory only when that process no longer runs. A directory without the file (a sandbox's) is
 * never an owned one.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { identityOf } from "./process-identity.js";
import type { ProcessIdentity } from "./process-identity.js";
import { readdirOrEmpty } from "./read-dir.js";
import { scratchPath } from "./scratch-name.js";
import { newRunDirName } from "./socket-path.js";

/** The file in an owned directory that names its owner. */
export const OWNER_FILE = "owner";

/** Longest owner file read: it is JSON of three short fields. */
const MAX_OWNER_BYTES = 512;

/** Who made an owned directory, and what for (`spare-vm`, `template`, `vm`: diagnostics only). */
export interface DirOwner extends ProcessIdentity {
  readonly purpose: string;
}

/**
 * Makes `<parent>/<12 hex>` owned by this process: built under a scratch name in `scratchDir` (same filesystem)
 * with its owner file, then renamed into place, so no directory without an owner is ever left by a crash.
 */
export function makeOwnedDir(parent: string, scratchDir: string, purpose: string): string {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  const scratch = scratchPath(scratchDir, "owned-dir");
  const self = identityOf(process.pid);
  const owner: DirOwner = { pid: self.pid, startTime: self.startTime, purpose };
  const dir = join(parent, newRunDirName());
  try {
    mkdirSync(scratch, { mode: 0o700 });
    writeFileSync(join(scratch, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
    renameSync(scratch, dir);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Makes `dir` nobody's: it stays, and no cleaner will remove it (a warm spare's, once a sandbox's own). */
export function disownDir(dir: string): void {
  try {
    unlinkSync(join(dir, OWNER_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** The owner of `dir`, or undefined when it has no (readable, well-formed) owner file. */
export function ownerOfDir(dir: string): DirOwner | undefined {
  let text: string;
  try {
    const bytes = readFileSync(join(dir, OWNER_FILE));
    if (bytes.length > MAX_OWNER_BYTES) return undefined;
    text = bytes.toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
  return parseOwner(text);
}

/** Parses an owner file; undefined when it is not one. */
export function parseOwner(text: string): DirOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { pid, startTime, purpose } = value as Record<string, unknown>;
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (startTime !== undefined && (typeof startTime !== "number" || !Number.isSafeInteger(startTime))) {
    return undefined;
  }
  if (typeof purpose !== "string" || purpose.length > 64) return undefined;
  return { pid, startTime, purpose };
}

/** The owned directories in `parent`, with their owners (none when `parent` is missing). */
export async function listOwnedDirs(
  parent: string,
): Promise<{ readonly path: string; readonly owner: DirOwner }[]> {
  const owned: { path: string; owner: DirOwner }[] = [];
  for (const name of await readdirOrEmpty(parent)) {
    const path = join(parent, name);
    const owner = ownerOfDir(path);
    if (owner !== undefined) owned.push({ path, owner });
  }
  return owned;
}
