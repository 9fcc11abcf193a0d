/** Where a sandbox lives on disk, derived from the state directory and its name/id. */
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";

/** Paths of one sandbox. */
export interface SandboxPaths {
  /** `<home>/sandboxes/<name>`: root disk overlay, supervisor log. */
  readonly dir: string;
  readonly rootDisk: string;
  readonly supervisorLog: string;
}

/** Paths of sandbox `name` under `home`. */
export function sandboxPaths(home: string, name: string): SandboxPaths {
  const dir = join(msbPaths(home).sandboxesDir, name);
  return { dir, rootDisk: join(dir, "root.qcow2"), supervisorLog: join(dir, "supervisor.log") };
}

/** `<home>/run/<id>`: sockets and the guest console (short, for the 107-byte socket path limit). */
export function sandboxRunDir(home: string, id: string): string {
  return join(home, "run", id);
}
