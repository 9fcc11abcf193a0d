/**
 * One `virtiofsd` per shared host folder (QEMU 7.2's C daemon, shipped with Debian's qemu-system-common). It has
 * no read-only option, so a read-only share is enforced on the host: the daemon runs in a private mount
 * namespace where the folder is bind-mounted over itself and remounted read-only, so even guest root (after
 * `mount -o remount,rw` in the guest) gets EROFS. Like QEMU it runs under `setpriv --pdeathsig KILL`: it never
 * outlives its owner; it also exits by itself once QEMU closes its socket.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { resolve as absolutePath } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readEnv } from "../config/env.js";
import { hasSysAdmin } from "../os/capabilities.js";
import { unixSocketListens } from "../os/unix-listen.js";
import { PrivilegeRequiredError, RuntimeNotInstalledError, VmError } from "../errors.js";
import type { LogLimits } from "../logs/rotating-writer.js";
import { RotatingWriter } from "../logs/rotating-writer.js";
import { findExecutable } from "../setup/exec.js";
import type { CpuPin } from "./cpu-pin.js";
import { pinnedArgv } from "./cpu-pin.js";

/** Where distributions install QEMU's `virtiofsd` (it is not on PATH): Debian, then Fedora and others. */
const VIRTIOFSD_PATHS: readonly string[] = Object.freeze([
  "/usr/lib/qemu/virtiofsd",
  "/usr/libexec/virtiofsd",
  "/usr/lib/virtiofsd",
]);

/** The `virtiofsd` to use: `MSB_VIRTIOFSD`, else QEMU's where the distribution puts it, else PATH. */
export function findVirtiofsd(explicit: string | undefined = readEnv().virtiofsdBinary): string | undefined {
  if (explicit !== undefined) return findExecutable(explicit);
  for (const path of VIRTIOFSD_PATHS) {
    const found = findExecutable(path);
    if (found !== undefined) return found;
  }
  return findExecutable("virtiofsd");
}

/** The privilege virtiofsd needs, as errors name it. */
export const VIRTIOFSD_PRIVILEGE = "root (CAP_SYS_ADMIN)";

/** Throws {@link PrivilegeRequiredError} when this process cannot run virtiofsd. */
export function checkVirtiofsdPrivilege(): void {
  if (!hasSysAdmin()) {
    throw new PrivilegeRequiredError(
      VIRTIOFSD_PRIVILEGE,
      "sharing a host folder (bind mounts, directory volumes) runs virtiofsd",
    );
  }
}

/**
 * `cache=auto` (1 s attribute and entry timeouts) keeps host changes visible to the guest soon. No thread pool
 * (`--thread-pool-size=0`: each request is served on the queue's own thread): measured under TCG with 5,000
 * files of 1 KiB, `find` + read took 7.2-7.5 s against 12.2-13.3 s with the default pool, untar 25 s against
 * 26-33 s. `-o writeback` did not help consistently (untar 19-26 s, read 8-12 s) and delays what the host sees.
 *
 * The shell program run inside the private mount namespace: `$1` the folder, `$2` `ro` or `rw`, `$3` virtiofsd,
 * `$4` its socket, `$5` its `source=` option. Paths travel as arguments, never spliced into the script.
 */
const NAMESPACE_SCRIPT = [
  "set -e",
  'if [ "$2" = ro ]; then',
  // Recursively bound, so the mounts nested in the folder stay visible, and each of them made read-only as well
  // (util-linux 2.38 cannot remount recursively): the mount points under the folder, from mountinfo, where they
  // are octal-escaped (`\040`); only a candidate is decoded (`printf %b` reads `\0nnn`).
  '  mount --rbind "$1" "$1"',
  '  mount -o remount,bind,ro "$1" "$1"',
  '  top=$(realpath "$1")',
  "  while read -r _id _parent _dev _root point _rest; do",
  '    case "$point" in "$top"/* | *\\\\*) ;; *) continue ;; esac',
  "    point=$(printf '%b' \"$(printf '%s' \"$point\" | sed 's/\\\\\\([0-7][0-7][0-7]\\)/\\\\0\\1/g')\")",
  '    case "$point" in "$top"/*) mount -o remount,bind,ro "$point" "$point" ;; esac',
  "  done < /proc/self/mountinfo",
  "fi",
  'exec "$3" --socket-path="$4" -o "$5" -o cache=auto --thread-pool-size=0 2>&1',
].join("\n");

/** virtiofsd parses `-o` like FUSE: `,` separates options and `\` escapes. */
function fuseOptValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll(",", "\\,");
}

/** What one share needs. */
export interface VirtiofsdOptions {
  readonly binary: string;
  /** Absolute host path of an existing directory. */
  readonly hostPath: string;
  readonly readonly: boolean;
  /** The vhost-user socket virtiofsd creates (QEMU connects to it). */
  readonly socketPath: string;
  /** Where virtiofsd's output goes (size-bounded). */
  readonly logPath: string;
  readonly logLimits: LogLimits;
  /** The host CPU the daemon runs on (its VM's); the kernel places it when absent. */
  readonly cpuPin?: CpuPin | undefined;
  /** Give up when nothing listens on the socket within this time. Default 10 s. */
  readonly startTimeoutMs?: number;
}

/** A running virtiofsd (inside its namespace wrapper). */
export class Virtiofsd {
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private done = false;
  private tail = "";

  private constructor(child: ChildProcess, log: RotatingWriter) {
    this.child = child;
    const onData = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString("utf8")).slice(-4096);
      try {
        log.write(chunk);
      } catch (err) {
        // A full host disk loses the log, not the share.
        if (!(err instanceof Error)) throw err;
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.exited = new Promise((resolve) => {
      child.once("close", () => {
        this.done = true;
        log.close();
        resolve();
      });
    });
  }

  /**
   * Starts virtiofsd for one folder and waits until it listens on its socket. Throws {@link VmError} `MSB_ERR_VM_START`
   * (with the daemon's own words) when it exits or times out first; nothing is left running then.
   */
  static async start(options: VirtiofsdOptions): Promise<Virtiofsd> {
    const stat = statSync(options.hostPath, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) {
      throw new VmError("MSB_ERR_VM_START", `cannot share ${options.hostPath}: not an existing directory`);
    }
    const setpriv = findExecutable("setpriv");
    const unshare = findExecutable("unshare");
    if (setpriv === undefined || unshare === undefined) {
      throw new RuntimeNotInstalledError(
        "sharing a host folder needs setpriv and unshare (package util-linux)",
      );
    }
    // Absolute, so the path virtiofsd binds is the one /proc/net/unix is searched for.
    const socketPath = absolutePath(options.socketPath);
    const args = [
      "--pdeathsig",
      "KILL",
      "--",
      ...pinnedArgv(options.cpuPin, [unshare]),
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      NAMESPACE_SCRIPT,
      "virtiofsd-ns",
      options.hostPath,
      options.readonly ? "ro" : "rw",
      options.binary,
      socketPath,
      `source=${fuseOptValue(options.hostPath)}`,
    ];
    // A socket file left by an earlier virtiofsd of this path (a restarted sandbox) must not count as ready:
    // QEMU would connect before the new daemon replaces it and be refused.
    rmSync(socketPath, { force: true });
    const child = spawn(setpriv, args, { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => {
        reject(new VmError("MSB_ERR_VM_START", `cannot start virtiofsd: ${err.message}`, { cause: err }));
      });
    });
    const daemon = new Virtiofsd(child, new RotatingWriter(options.logPath, options.logLimits));
    try {
      await daemon.waitSocket(socketPath, options.startTimeoutMs ?? 10_000);
    } catch (err) {
      await daemon.kill();
      throw err;
    }
    return daemon;
  }

  /** Process id (of the namespace wrapper, which execs into virtiofsd). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Kills the daemon (SIGKILL) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (!this.done) this.child.kill("SIGKILL");
    await this.exited;
  }

  private async waitSocket(path: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Listening, not merely bound: the socket file appears at `bind`, before virtiofsd's `listen`.
      if (statSync(path, { throwIfNoEntry: false })?.isSocket() === true && unixSocketListens(path)) return;
      if (this.done || Date.now() > deadline) {
        const why = this.done ? "exited" : `did not listen on its socket within ${timeoutMs} ms`;
        const words = this.tail.trim().split("\n").slice(-3).join(" | ");
        throw new VmError("MSB_ERR_VM_START", `virtiofsd ${why}${words ? `: ${words}` : ""}`);
      }
      await sleep(10);
    }
  }
}
