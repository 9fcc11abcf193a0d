/**
 * The spare supervisor (`src/sdk/spare-supervisor.ts`): from a process's second create on, one supervisor is
 * started ahead, the next attached create uses it (its stderr file moves into that sandbox's logs) with the
 * creator's environment of that moment, a create after a change of what node reads at start-up does not, and when
 * the process exits without using it the spare exits and leaves nothing.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msbPaths } from "../../src/config/paths.js";
import { readProcStat } from "../../src/os/process-identity.js";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { PendingSupervisor } from "../../src/sdk/launch.js";
import { spareSupervisorOf } from "../../src/sdk/spare-supervisor.js";
import { afterTwoCreates, isAlive } from "../fixtures/spare-process.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
// The spare supervisor alone: a warm spare VM's QEMU is started before the create, with the spare's environment
// (its own tests are in spare-vm.test.ts).
beforeAll(() => {
  process.env["MSB_SPARE_VM"] = "0";
});
afterAll(() => {
  delete process.env["MSB_SPARE_VM"];
});

const spare = spareSupervisorOf;

/** The spare, once it is started (a moment after a create). */
async function spareSoon(): Promise<ReturnType<typeof spareSupervisorOf>> {
  for (let i = 0; i < 50 && spare() === undefined; i++) await sleep(50);
  return spare();
}

const spareFiles = (): string[] =>
  readdirSync(msbPaths(env().home).tmpDir).filter((f) => f.startsWith("spare-supervisor."));

async function created(name: string): Promise<number> {
  const sandbox = await Sandbox.create({ name, image: "alpine:latest" });
  expect((await sandbox.shell("echo ok")).stdout()).toBe("ok\n");
  return (await Sandbox.get(name)).record.supervisorPid ?? 0;
}

describe("the spare supervisor", () => {
  it("is started after a process's second create and serves the next attached create", async () => {
    await created("spare-a");
    await sleep(600);
    expect(spare()).toBeUndefined(); // one create (a CLI command's) never pays for a spare
    await created("spare-b");
    const ready = await spareSoon();
    expect(ready).toBeDefined();
    expect(isAlive(ready?.pid ?? 0)).toBe(true);
    expect(existsSync(ready?.stderr ?? "")).toBe(true);
    expect(await created("spare-c")).toBe(ready?.pid);
    // Its stderr file moved into the sandbox's logs; a new spare waits for the next create.
    expect(existsSync(join(env().home, "sandboxes", "spare-c", "logs", "supervisor.stderr.log"))).toBe(true);
    expect(existsSync(ready?.stderr ?? "")).toBe(false);
    const next = await spareSoon();
    expect(next).toBeDefined();
    expect(next?.pid).not.toBe(ready?.pid);
    expect(spareFiles()).toHaveLength(1);
  });

  it("takes its creator's environment as it is at the create", async () => {
    const ready = await spareSoon();
    expect(ready).toBeDefined();
    process.env["MSB_SPARE_TEST_MARK"] = "now";
    try {
      expect(await created("spare-d")).toBe(ready?.pid);
    } finally {
      delete process.env["MSB_SPARE_TEST_MARK"];
    }
    // QEMU, started by the supervisor after it took the environment, has the creator's, not the spare's.
    const qemuPid = (await Sandbox.get("spare-d")).record.qemuPid ?? 0;
    const environ = readFileSync(`/proc/${qemuPid}/environ`, "utf8").split("\0");
    expect(environ).toContain("MSB_SPARE_TEST_MARK=now");
    expect(environ.some((entry) => entry.startsWith("MSB_SPARE_SUPERVISOR_STDERR="))).toBe(false);
  });

  it("is not used when what node reads at start-up changed: it is killed, its file removed", async () => {
    const stale = await spareSoon();
    expect(stale).toBeDefined();
    process.env["NODE_SPARE_TEST_MARK"] = "1";
    try {
      expect(await created("spare-e")).not.toBe(stale?.pid);
    } finally {
      delete process.env["NODE_SPARE_TEST_MARK"];
    }
    for (let i = 0; i < 50 && isAlive(stale?.pid ?? 0); i++) await sleep(100);
    expect(isAlive(stale?.pid ?? 0)).toBe(false);
    expect(existsSync(stale?.stderr ?? "")).toBe(false);
  });

  it("is not used once it died: the create spawns a supervisor of its own", async () => {
    const dead = await spareSoon();
    expect(dead).toBeDefined();
    process.kill(dead?.pid ?? 0, "SIGKILL");
    // A spare this process spawned stays a zombie, which node still counts as running, until this process's loop
    // handles the SIGCHLD; one its launcher spawned (the case here: see launcher.test.ts) is reaped there.
    const dying = (): boolean => [undefined, "Z"].includes(readProcStat(dead?.pid ?? 0)?.state);
    const deadline = Date.now() + 5_000;
    while (!dying() && Date.now() < deadline) {
      /* busy-wait, keeping the loop from reaping it */
    }
    expect(dying()).toBe(true);
    expect(await created("spare-f")).not.toBe(dead?.pid);
    expect(existsSync(dead?.stderr ?? "")).toBe(false);
  });

  it("counts a spare that died as gone before node has seen it exit", () => {
    const logFile = join(msbPaths(env().home).tmpDir, "spare-zombie.log");
    const pending = PendingSupervisor.spawn({ logFile, detached: false, spare: true });
    try {
      expect(pending.alive).toBe(true);
      process.kill(pending.pid ?? 0, "SIGKILL");
      // Synchronously: this process's loop cannot reap it, so node still has no exit code for it.
      const deadline = Date.now() + 5_000;
      while (readProcStat(pending.pid ?? 0)?.state !== "Z" && Date.now() < deadline) {
        /* busy-wait */
      }
      expect(readProcStat(pending.pid ?? 0)?.state).toBe("Z");
      expect(pending.alive).toBe(false);
    } finally {
      rmSync(logFile, { force: true });
    }
  });

  it("exits with its process, removing its file, when no create used it", async () => {
    const left = afterTwoCreates("spare", [
      "await new Promise((resolve) => setTimeout(resolve, 1000));",
      "console.log(JSON.stringify(spareSupervisorOf()));",
    ]) as { pid: number; stderr: string };
    expect(left.pid).toBeGreaterThan(0);
    for (let i = 0; i < 100 && isAlive(left.pid); i++) await sleep(100);
    expect(isAlive(left.pid)).toBe(false);
    expect(existsSync(left.stderr)).toBe(false);
  });
});
