/**
 * Run directories of VMs that are not a sandbox's: a template being made, a warm spare VM, a bare VM. They sit
 * beside sandboxes' (`<home>/run/<12 hex>`), so their sockets fit the same 107-byte path limit whatever their
 * purpose, and an owner file lets a later process remove one its maker left behind (`image/scratch.ts`).
 */
import { msbPaths } from "../config/paths.js";
import { makeOwnedDir } from "../os/owned-dir.js";

/** Makes a fresh run directory under `home`, owned by this process; `purpose` is for diagnostics. */
export function ownedRunDir(home: string, purpose: string): string {
  const paths = msbPaths(home);
  return makeOwnedDir(paths.runRoot, paths.tmpDir, purpose);
}
