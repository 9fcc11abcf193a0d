/**
 * The launcher (`src/sdk/spawn-remote.ts`, `src/supervisor/spawn-request.ts`): a process that creates sandboxes
 * again and again starts one small process, which spawns its spare supervisors and the supervisors of creates no
 * spare serves, so the creator forks no more; it goes when its creator does, and a creator whose launcher died
 * spawns for itself again and starts another.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { readProcStat } from "../../src/os/process-identity.js";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { spareSupervisorOf } from "../../src/sdk/spare-supervisor.js";
import { launcherPid } from "../../src/sdk/spawn-remote.js";
import { afterTwoCreates, isAlive } from "../fixtures/spare-process.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();
beforeAll(() => {
  process.env["MSB_SPARE_VM"] = "0"; // the supervisors alone
  return () => {
    delete process.env["MSB_SPARE_VM"];
  };
});

const parentOf = (pid: number | undefined): number | undefined => readProcStat(pid ?? 0)?.ppid;

/** The spare, once the launcher has spawned it (a moment after a create). */
async function spareSoon(): Promise<ReturnType<typeof spareSupervisorOf>> {
  for (let i = 0; i < 100 && spareSupervisorOf() === undefined; i++) await sleep(20);
  return spareSupervisorOf();
}

async function supervisorOf(name: string): Promise<number | undefined> {
  return (await Sandbox.get(name)).record.supervisorPid;
}

describe("the launcher", () => {
  it("spawns the spares, and the supervisors no spare serves, from a process's second create on", async () => {
    for (const name of ["l-a", "l-b"])
      await (await Sandbox.create({ name, image: "alpine:latest" })).stopAndWait();
    const launcher = launcherPid();
    expect(launcher).toBeDefined();
    expect(parentOf(launcher)).toBe(process.pid);
    // The second create's spare is this process's own child, there at once; the launcher spawns the next ones.
    expect(parentOf(spareSupervisorOf()?.pid)).toBe(process.pid);
    await using third = await Sandbox.create({ name: "l-c", image: "alpine:latest" });
    const spare = await spareSoon();
    expect(parentOf(spare?.pid)).toBe(launcher);
    // Two creates at once: one takes the spare, the other's supervisor comes from the launcher too.
    const [d, e] = await Promise.all(
      ["l-d", "l-e"].map((name) => Sandbox.create({ name, image: "alpine:latest" })),
    );
    const supervisors = [await supervisorOf("l-d"), await supervisorOf("l-e")];
    expect(supervisors).toContain(spare?.pid);
    expect(supervisors.map(parentOf)).toEqual([launcher, launcher]);
    for (const sandbox of [third, d, e]) expect((await sandbox?.shell("echo ok"))?.stdout()).toBe("ok\n");
    await d?.stopAndWait();
    await e?.stopAndWait();
    expect(launcherPid()).toBe(launcher);
  });

  it("is replaced when it died: the creates go on, and the next spare starts a new one", async () => {
    const old = launcherPid() ?? 0;
    expect(isAlive(old)).toBe(true);
    process.kill(old, "SIGKILL");
    for (let i = 0; i < 100 && launcherPid() === old; i++) await sleep(20);
    expect(launcherPid()).toBeUndefined();
    for (const name of ["l-f", "l-g"]) {
      await using sandbox = await Sandbox.create({ name, image: "alpine:latest" });
      expect((await sandbox.shell("echo ok")).stdout()).toBe("ok\n");
    }
    const fresh = launcherPid();
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(old);
    expect(isAlive(fresh ?? 0)).toBe(true);
  });

  it("exits with its process, and so does the spare it spawned", async () => {
    const left = afterTwoCreates("lx", [
      `const { launcherPid } = await import(${JSON.stringify(join(process.cwd(), "src/sdk/spawn-remote.ts"))});`,
      "await (await Sandbox.create({ name: 'lx-z', image: 'alpine:latest' })).stopAndWait();",
      "for (let i = 0; i < 100 && !spareSupervisorOf(); i++) await new Promise((r) => setTimeout(r, 20));",
      "console.log(JSON.stringify({ launcher: launcherPid(), spare: spareSupervisorOf()?.pid }));",
    ]) as { launcher: number; spare: number };
    expect(left.launcher).toBeGreaterThan(0);
    expect(left.spare).toBeGreaterThan(0);
    for (let i = 0; i < 100 && (isAlive(left.launcher) || isAlive(left.spare)); i++) await sleep(100);
    expect(isAlive(left.launcher)).toBe(false);
    expect(isAlive(left.spare)).toBe(false);
  });
});
