/** Where a sandbox lives on disk, derived from the state directory and its name/id. */
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";
import { InvalidConfigError } from "../errors.js";
import { MAX_SOCKET_PATH, RUN_DIR_NAME_CHARS, newRunDirName } from "../os/socket-path.js";
import { CONTROL_SOCKET } from "../supervisor/spec.js";
import { logPath, SUPERVISOR_STDERR_NAME } from "../logs/sources.js";

/** Paths of one sandbox. */
export interface SandboxPaths {
  /** `<home>/sandboxes/<name>`: root disk overlay, `logs/`. */
  readonly dir: string;
  readonly rootDisk: string;
  /**
   * `<dir>/patched`: made by the supervisor once the rootfs patches are on the root disk; while it is missing,
   * a boot applies them (on the host: nothing in the guest decides whether patches run again).
   */
  readonly patchMarker: string;
  /** `<dir>/secrets.sealed`: the secret values a restart needs, sealed (0600; see `secrets/sealed-store.ts`). */
  readonly sealedSecrets: string;
  /** `<dir>/logs`: console, main and supervisor logs, each rotated (they outlive a stop, not a remove). */
  readonly logDir: string;
  /** The supervisor's JSON-lines log. */
  readonly supervisorLog: string;
  /** The file the supervisor process's stderr goes to (Node's fatal output only). */
  readonly supervisorStderr: string;
}

/** Paths of sandbox `name` under `home`. */
export function sandboxPaths(home: string, name: string): SandboxPaths {
  const dir = join(msbPaths(home).sandboxesDir, name);
  const logDir = join(dir, "logs");
  return {
    dir,
    rootDisk: join(dir, "root.qcow2"),
    patchMarker: join(dir, "patched"),
    sealedSecrets: join(dir, "secrets.sealed"),
    logDir,
    supervisorLog: logPath(logDir, "supervisor"),
    supervisorStderr: join(logDir, SUPERVISOR_STDERR_NAME),
  };
}

/** Characters of a sandbox incarnation's id, which names its run directory. */
export const SANDBOX_ID_CHARS = RUN_DIR_NAME_CHARS;

/** A fresh id for a sandbox incarnation: it names its run directory. */
export function newSandboxId(): string {
  return newRunDirName();
}

/** `<home>/run/<id>`: sockets (short, for the 107-byte socket path limit). */
export function sandboxRunDir(home: string, id: string): string {
  return join(msbPaths(home).runRoot, id);
}

/**
 * Why the sockets of a sandbox under `home` would be longer than a unix socket path may be (the longest is its
 * `control.sock`), with what to do; undefined when they fit.
 */
export function homeSocketProblem(
  home: string,
): { readonly problem: string; readonly hint: string } | undefined {
  const homeBytes = Buffer.byteLength(home);
  const bytes = Buffer.byteLength(join(sandboxRunDir(home, "0".repeat(SANDBOX_ID_CHARS)), CONTROL_SOCKET));
  if (bytes <= MAX_SOCKET_PATH) return undefined;
  const example = join(msbPaths(home).runRoot, "<id>", CONTROL_SOCKET);
  return {
    problem: `${home} is too long for the sandboxes' unix sockets: ${example} would be ${bytes} bytes, more than ${MAX_SOCKET_PATH}`,
    hint: `use an MSB_HOME of at most ${MAX_SOCKET_PATH - (bytes - homeBytes)} bytes (this one is ${homeBytes})`,
  };
}

/**
 * Throws {@link InvalidConfigError} (field `MSB_HOME`) when the sockets of a sandbox under `home` would be too
 * long ({@link homeSocketProblem}), before anything of the sandbox is made.
 */
export function checkHomeFitsSockets(home: string): void {
  const found = homeSocketProblem(home);
  if (found !== undefined) throw new InvalidConfigError("MSB_HOME", found.problem, { hint: found.hint });
}
