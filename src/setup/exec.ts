/**
 * Runs host tools for set-up (apt-get, dpkg, go, lz4, ...) with argument arrays, never through a shell.
 * Children inherit `process.env` plus the variables a step adds (the one use of `process.env` in set-up);
 * executables are looked up on `PATH` as read by `readEnv()`.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import { readEnv } from "../config/env.js";
import { SetupError } from "../errors.js";

/** Options of {@link run}. */
export interface RunOptions {
  /** Working directory of the child. */
  readonly cwd?: string | undefined;
  /** Variables added to (or overriding) the inherited environment. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Bytes written to the child's stdin (then closed). Without it stdin is empty. */
  readonly input?: Uint8Array | undefined;
  /** Called with every line the child prints on stdout or stderr, as it arrives. */
  readonly onLine?: ((line: string) => void) | undefined;
  /** Hint attached to the {@link SetupError} raised when the command fails. */
  readonly hint?: string | undefined;
}

/** What a finished command printed. */
export interface RunResult {
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Directories searched after `PATH`: non-root shells often lack the sbin directories (mke2fs lives there). */
const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch (err) {
    if (err instanceof Error && "code" in err) return false;
    throw err;
  }
}

/** Absolute path of executable `name` on `PATH` (then the usual system directories), or `undefined`. */
export function findExecutable(name: string): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  const dirs = [...readEnv().searchPath, ...EXTRA_DIRS];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

function lineSplitter(onLine: (line: string) => void): { push: (chunk: Buffer) => void; flush: () => void } {
  let pending = "";
  return {
    push(chunk) {
      const lines = (pending + chunk.toString("utf8")).split(/\r?\n|\r/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim().length > 0) onLine(line);
    },
    flush() {
      if (pending.trim().length > 0) onLine(pending);
      pending = "";
    },
  };
}

/** The last `max` characters of `text`, to keep error messages readable. */
export function tail(text: string, max = 4000): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `...${trimmed.slice(trimmed.length - max)}`;
}

/**
 * Runs `command` with `args` and resolves with its output once it exits with status 0.
 *
 * @throws SetupError when the command cannot be started or exits non-zero; the message names the command and
 *   ends with the tail of its stderr (or stdout).
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const display = [command, ...args]
    .map((a) => (/^[\w./=:,+@%-]+$/.test(a) ? a : JSON.stringify(a)))
    .join(" ");
  const hint = options.hint === undefined ? {} : { hint: options.hint };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const lines =
      options.onLine === undefined ? undefined : [lineSplitter(options.onLine), lineSplitter(options.onLine)];
    child.stdout.on("data", (chunk: Buffer) => {
      out.push(chunk);
      lines?.[0]?.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err.push(chunk);
      lines?.[1]?.push(chunk);
    });
    child.stdin.on("error", (e: NodeJS.ErrnoException) => {
      // The child may exit before reading all its input (EPIPE); its exit status tells what happened.
      if (e.code !== "EPIPE") reject(new SetupError(`writing to ${command} failed`, { cause: e }));
    });
    child.stdin.end(options.input);
    child.on("error", (e) => {
      reject(new SetupError(`could not run ${command}: ${e.message}`, { cause: e, ...hint }));
    });
    child.on("close", (code, signal) => {
      for (const l of lines ?? []) l.flush();
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const status = signal === null ? `exit status ${code ?? "?"}` : `signal ${signal}`;
      const output = tail(stderr.trim().length > 0 ? stderr : stdout.toString("utf8"));
      reject(new SetupError(`\`${display}\` failed (${status}):\n${output}`, hint));
    });
  });
}
