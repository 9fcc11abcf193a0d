/**
 * Names of scratch files and directories that say who owns them: `<prefix>.<pid>-<start>.<random>.tmp`, where
 * `<start>` is the creator's start time from `/proc` (omitted where there is none: `<prefix>.<pid>.<random>.tmp`,
 * also the format of older releases). A cleaner removes an entry only when that process no longer runs: a pid
 * reused by another process does not count as the owner, and a live owner's files are never touched.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { identityOf, isRunning, type ProcessIdentity } from "./process-identity.js";

/** A fresh scratch path in `dir` owned by this process. */
export function scratchPath(dir: string, prefix: string): string {
  const self = identityOf(process.pid);
  const owner = self.startTime === undefined ? `${self.pid}` : `${self.pid}-${self.startTime}`;
  return join(dir, `${prefix}.${owner}.${randomBytes(6).toString("hex")}.tmp`);
}

/** The owner encoded in a scratch name, or undefined when `name` is not one. */
export function scratchOwner(name: string): ProcessIdentity | undefined {
  const match = /\.(\d+)(?:-(\d+))?\.[0-9a-f]{12}\.tmp$/.exec(name);
  if (match?.[1] === undefined) return undefined;
  const pid = Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, startTime: match[2] === undefined ? undefined : Number(match[2]) };
}

/**
 * True when `name` is a scratch name whose owner is gone (no such process, a zombie, or another process under a
 * reused pid). A name without a start time counts as owned while any process has its pid.
 */
export function scratchAbandoned(name: string): boolean {
  const owner = scratchOwner(name);
  return owner !== undefined && !isRunning(owner);
}
