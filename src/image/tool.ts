/** Runs the external tools the image code needs (mke2fs, debugfs, qemu-img) with bounded output. */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { isErrno } from "./fs-util.js";

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** Arguments, passed without a shell. */
  readonly args: readonly string[];
  /** Working directory. */
  readonly cwd?: string;
  /** Bytes written to the tool's stdin (stdin is closed after them, or at once). */
  readonly input?: Buffer | string;
  /** Kill the tool after this long (default: no limit). */
  readonly timeoutMs?: number;
  /** Keep at most this many bytes of stdout and of stderr (default 16 MiB); the rest is dropped. */
  readonly maxOutputBytes?: number;
}

/** What a finished tool returned. */
export interface ToolResult {
  /** Exit code, or -1 when it was killed by a signal. */
  readonly code: number;
  /** The signal that killed it, if any. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * Runs `command` to completion. Rejects only when it cannot be started (e.g. `ENOENT`: not installed); a non-zero
 * exit is reported in the result, for the caller to turn into its own typed error.
 */
export function runTool(command: string, options: RunToolOptions): Promise<ToolResult> {
  const limit = options.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, options.args, {
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs,
      killSignal: "SIGKILL",
    });
    const out = collect(limit);
    const err = collect(limit);
    child.stdout.on("data", out.push);
    child.stderr.on("data", err.push);
    child.stdin.on("error", () => undefined); // EPIPE when the tool exits early: its exit code tells the story
    child.stdin.end(options.input);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      resolve({ code: code ?? -1, signal, stdout: out.done(), stderr: err.done().toString("utf8") });
    });
  });
}

function collect(limit: number): { push: (chunk: Buffer) => void; done: () => Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (chunk) => {
      if (size >= limit) return;
      chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    },
    done: () => Buffer.concat(chunks),
  };
}

/** Formats a failed {@link ToolResult} for an error message: the command, its exit and the tail of stderr. */
export function describeToolFailure(command: string, result: ToolResult): string {
  const how = result.signal === null ? `exited with code ${result.code}` : `was killed by ${result.signal}`;
  const tail = result.stderr.trim().split("\n").slice(-8).join("\n");
  return `${command} ${how}${tail === "" ? "" : `: ${tail}`}`;
}

/** Directories searched after PATH: e2fsprogs lives in /sbin, which is often missing from a user's PATH. */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** Absolute paths of the external tools the image code runs (bare names when not found: spawning reports ENOENT). */
export interface ImageTools {
  readonly mke2fs: string;
  readonly debugfs: string;
  readonly e2fsck: string;
  readonly qemuImg: string;
}

/** Looks the tools up in `searchPath` (from `readEnv().searchPath`), then in the sbin directories. */
export async function findImageTools(searchPath: readonly string[]): Promise<ImageTools> {
  const find = (name: string): Promise<string> => findTool(name, [...searchPath, ...SBIN_DIRS]);
  const [mke2fs, debugfs, e2fsck, qemuImg] = await Promise.all([
    find("mke2fs"),
    find("debugfs"),
    find("e2fsck"),
    find("qemu-img"),
  ]);
  return { mke2fs, debugfs, e2fsck, qemuImg };
}

async function findTool(name: string, dirs: readonly string[]): Promise<string> {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch (error) {
      if (!isErrno(error, "ENOENT") && !isErrno(error, "EACCES") && !isErrno(error, "ENOTDIR")) throw error;
    }
  }
  return name;
}
