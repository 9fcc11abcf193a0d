import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { isRunning, readProcStat } from "../os/process-identity.js";
import { launcherPid, processLauncher, spawnRemote } from "./spawn-remote.js";
import type { RemoteChild } from "./supervisor-child.js";

const dir = mkdtempSync(join(tmpdir(), "msb-launcher-"));
afterAll(() => {
  const pid = launcherPid();
  if (pid !== undefined) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Has the launcher spawn node running `script`, its stderr into `log`. */
function spawnNode(script: string, log = join(dir, "stderr.log")): Promise<RemoteChild> {
  const launcher = processLauncher(true);
  if (launcher === undefined) throw new Error("no launcher");
  return spawnRemote(launcher, {
    file: process.execPath,
    args: ["-e", script],
    cwd: dir,
    env: { PATH: process.env["PATH"] ?? "", MSB_TEST_MARK: "from-request" },
    logFile: log,
  });
}

async function exitOf(child: RemoteChild): Promise<[number | null, NodeJS.Signals | null]> {
  await new Promise<void>((resolve) => {
    child.onExit(resolve);
  });
  return [child.exitCode, child.signalCode];
}

describe("the launcher", () => {
  it("spawns a process with the request's environment and hands over its stdin and stdout", async () => {
    const child = await spawnNode(
      "process.stdin.on('data', (d) => process.stdout.write(process.env.MSB_TEST_MARK + ':' + d));",
    );
    expect(readProcStat(child.pid)?.ppid).toBe(launcherPid());
    const out = new Promise<string>((resolve) => {
      let text = "";
      child.stdout.on("data", (d: Buffer) => (text += d.toString()));
      child.stdout.on("end", () => {
        resolve(text);
      });
    });
    child.stdin.end("hello");
    expect(await out).toBe("from-request:hello");
    expect(await exitOf(child)).toEqual([0, null]);
  });

  it("reports how the process ended, and its stderr goes to the request's file", async () => {
    const log = join(dir, "dies.log");
    const child = await spawnNode("console.error('last words'); process.exit(7);", log);
    expect(await exitOf(child)).toEqual([7, null]);
    expect(readFileSync(log, "utf8")).toContain("last words");
    const killed = await spawnNode("setInterval(() => {}, 1000);");
    killed.kill();
    expect(await exitOf(killed)).toEqual([null, "SIGKILL"]);
  });

  it("fails a spawn that cannot start, naming why", async () => {
    const launcher = processLauncher(true);
    if (launcher === undefined) throw new Error("no launcher");
    const request = { file: "/no/such/binary", args: [], cwd: dir, env: {}, logFile: join(dir, "x.log") };
    await expect(spawnRemote(launcher, request)).rejects.toThrow(/ENOENT/);
    const badLog = { ...request, file: process.execPath, logFile: join(dir, "no-dir", "x.log") };
    await expect(spawnRemote(launcher, badLog)).rejects.toThrow(/ENOENT/);
  });

  it("is gone once killed: its requests fail, and the next start makes another", async () => {
    const old = processLauncher(true);
    const survivor = await spawnNode("process.stdin.resume();");
    process.kill(old?.pid ?? 0, "SIGKILL");
    for (let i = 0; i < 100 && processLauncher(false) !== undefined; i++) await sleep(20);
    expect(processLauncher(false)).toBeUndefined();
    if (old === undefined) throw new Error("no launcher");
    await expect(
      spawnRemote(old, { file: process.execPath, args: [], cwd: dir, env: {}, logFile: join(dir, "y.log") }),
    ).rejects.toThrow(/the launcher is gone/);
    // Its child lives on, this process's: it ends when its stdin does, and its exit is known from its stdout.
    survivor.stdout.resume();
    survivor.stdin.end();
    expect(await exitOf(survivor)).toEqual([null, null]);
    const fresh = processLauncher(true);
    expect(fresh?.pid).toBeDefined();
    expect(fresh?.pid).not.toBe(old.pid);
  });

  it("goes, and so does what it spawned, when its creator dies before the pipes reach it", async () => {
    // Node holds back the channel's "disconnect" while a sent pipe awaits its acknowledgement: the launcher must
    // see its creator gone another way (its stdin).
    const marker = `msb-orphan-${process.pid}-${Date.now()}`;
    const creator = [
      `import { processLauncher, spawnRemote } from ${JSON.stringify(join(import.meta.dirname, "spawn-remote.ts"))};`,
      "const launcher = processLauncher(true);",
      `void spawnRemote(launcher, { file: process.execPath, args: ["-e", "process.stdin.resume()", ${JSON.stringify(marker)}],`,
      `  cwd: "/", env: {}, logFile: ${JSON.stringify(join(dir, "orphan.log"))} });`,
      "console.log(launcher.pid);",
      // Blocks this loop, so the launcher's answers are never read (nor acknowledged), until it has spawned.
      'const { readdirSync, readFileSync } = await import("node:fs");',
      "const spawned = () => readdirSync('/proc').some((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8')",
      `  .includes(${JSON.stringify(marker)}); } catch { return false; } });`,
      "for (const until = Date.now() + 20000; !spawned() && Date.now() < until; );",
      "for (const until = Date.now() + 300; Date.now() < until; );",
      "process.exit(0);",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", creator], {
      encoding: "utf8",
    });
    const launcher = Number(out.trim());
    const marked = (): number[] =>
      readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
            throw err;
          }
        })
        .map(Number);
    for (
      let i = 0;
      i < 100 && (isRunning({ pid: launcher, startTime: undefined }) || marked().length > 0);
      i++
    )
      await sleep(50);
    expect(isRunning({ pid: launcher, startTime: undefined })).toBe(false);
    expect(marked()).toEqual([]);
  });
});
