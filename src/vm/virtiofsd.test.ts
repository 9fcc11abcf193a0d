import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasSysAdmin } from "../os/capabilities.js";
import { allowedCpus } from "../os/cpu-affinity.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { findExecutable } from "../setup/exec.js";
import { unixSocketListens } from "../os/unix-listen.js";
import { Virtiofsd } from "./virtiofsd.js";

/**
 * A stand-in for virtiofsd: after `delayMs` it binds its `--socket-path`, waits again, then listens (as the real
 * daemon's bind and listen are two steps), and stays up.
 */
function fakeDaemon(dir: string, delayMs: number): string {
  const path = join(dir, "fake-virtiofsd");
  const program = [
    "const net = require('node:net');",
    "const fs = require('node:fs');",
    "const socket = process.argv.find((a) => a.startsWith('--socket-path=')).slice('--socket-path='.length);",
    `setTimeout(() => {`,
    "  fs.rmSync(socket, { force: true });",
    "  const server = net.createServer();",
    `  setTimeout(() => server.listen(socket), ${delayMs});`,
    `}, ${delayMs});`,
  ].join("\n");
  writeFileSync(path, `#!/bin/sh\nexec ${process.execPath} -e "${program.replaceAll('"', '\\"')}" -- "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Leaves a socket file with no listener at `path`, as a killed daemon does. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    "-e",
    `require("node:net").createServer().listen(${JSON.stringify(path)})`,
  ]);
  while (statSync(path, { throwIfNoEntry: false })?.isSocket() !== true) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill("SIGKILL");
  await new Promise((resolve) => child.once("close", resolve));
}

describe.skipIf(!hasSysAdmin())("Virtiofsd.start (with a stand-in daemon; needs CAP_SYS_ADMIN)", () => {
  const makeDir = tempDirs("msb-vfsd-", { after: "each" });

  it("is ready only once the daemon listens, not when a stale socket file is there", async () => {
    const dir = makeDir();
    const share = join(dir, "share");
    mkdirSync(share);
    const socketPath = join(dir, "fs0.sock");
    await staleSocket(socketPath);
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(unixSocketListens(socketPath)).toBe(false);

    const daemon = await Virtiofsd.start({
      binary: fakeDaemon(dir, 150),
      hostPath: share,
      readonly: false,
      socketPath,
      logPath: join(dir, "virtiofsd.log"),
      logLimits: { maxBytes: 1 << 20, files: 1 },
    });
    try {
      expect(unixSocketListens(socketPath)).toBe(true);
    } finally {
      await daemon.kill();
    }
  });

  it("runs on the CPU it is given, as the daemon itself (taskset execs)", async () => {
    const dir = makeDir();
    const share = join(dir, "share");
    mkdirSync(share);
    const taskset = findExecutable("taskset");
    expect(taskset).toBeDefined();
    const cpu = (allowedCpus(readFileSync("/proc/self/status", "utf8")) ?? [0]).at(-1) ?? 0;
    const daemon = await Virtiofsd.start({
      binary: fakeDaemon(dir, 0),
      hostPath: share,
      readonly: false,
      socketPath: join(dir, "fs0.sock"),
      logPath: join(dir, "virtiofsd.log"),
      logLimits: { maxBytes: 1 << 20, files: 1 },
      cpuPin: { cpu, taskset: taskset ?? "taskset" },
    });
    try {
      const status = readFileSync(`/proc/${daemon.pid}/status`, "utf8");
      expect(status).toMatch(/^Name:\s*node$/m); // the stand-in daemon, with the wrapper's pid
      expect(allowedCpus(status)).toEqual([cpu]);
    } finally {
      await daemon.kill();
    }
  });
});
