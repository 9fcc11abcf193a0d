/**
 * The warm spare VM (`src/supervisor/spare-vm.ts`): after a process's second create, its spare supervisor restores
 * the template of that create's image and shape and runs a shell in it; the next create of the same image and shape
 * takes that VM. The sandbox it becomes is its own (hostname, random state, clock, files, network, logs), and a
 * create of another shape discards it and boots as usual.
 */
import { existsSync, readFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { msbPaths } from "../../src/config/paths.js";
import { ownerOfDir } from "../../src/os/owned-dir.js";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { hostAccelerator } from "../../src/vm/accel.js";
import { QmpClient } from "../../src/vm/qmp.js";
import { freePort } from "../fixtures/registry/process.js";
import { afterTwoCreates, isAlive } from "../fixtures/spare-process.js";
import { spareVmDirs, waitForWarmSpareVm } from "../fixtures/spare-vm-dirs.js";
import { useTemplatesOn } from "../fixtures/templates-on.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
// A spare VM is restored from a VM template: templates on (its last test turns them off for a while).
useTemplatesOn();

const runRoot = (): string => msbPaths(env().home).runRoot;
/** The run directories of spare VMs (owned, beside sandboxes' in `run/`). */
const spareVms = (): Promise<string[]> => spareVmDirs(runRoot());
/** Waits until a spare VM is warm (its warming shell run); its run directory. */
const spareVmWarm = (): Promise<string> => waitForWarmSpareVm(runRoot(), { settleMs: 1_500 });

function supervisorLog(name: string): string {
  return readFileSync(join(env().home, "sandboxes", name, "logs", "supervisor.log"), "utf8");
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpGet({ host: "127.0.0.1", port, path: "/index.html", timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve(body);
      });
    });
    request.on("error", reject);
    request.on("timeout", () => request.destroy(new Error("timed out")));
  });
}

const identity =
  "hostname; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1; date +%s";

describe("the warm spare VM", () => {
  it("is taken by the next create of the same image and shape, which is its own sandbox", async () => {
    await using first = await Sandbox.create({ name: "warm-a", image: "alpine:latest" });
    await first.shell("echo from-a > /root/mark");
    await using second = await Sandbox.create({ name: "warm-b", image: "alpine:latest" });
    const secondId = (await second.shell(identity)).stdout().split("\n");
    const dir = await spareVmWarm();
    await sleep(2_000); // the spare's clock runs on while it waits
    const port = await freePort();
    await using third = await Sandbox.create({
      name: "warm-c",
      image: "alpine:latest",
      ports: { [String(port)]: 80 },
    });
    const log = supervisorLog("warm-c");
    expect(log).toContain("took the warm spare VM");
    expect(log).toMatch(/"restored":true/);
    // A warning of the spare's VM start, before the sandbox had logs, is in them (and so reaches the creator).
    if (hostAccelerator() === "tcg") expect(log).toMatch(/"level":"warn","msg":"[^"]*TCG/);
    expect(await spareVms()).not.toContain(dir); // its run directory became the sandbox's
    const thirdId = (await third.shell(identity)).stdout().split("\n");
    expect(thirdId[0]).toBe("warm-c");
    expect(thirdId[1]).not.toBe(secondId[1]);
    expect(thirdId[2]).not.toBe(secondId[2]);
    expect(Math.abs(Number(thirdId[3]) - Date.now() / 1000)).toBeLessThan(3);
    // Its own disk: nothing of the other sandboxes, and what it writes stays its own.
    expect((await third.shell("cat /root/mark 2>/dev/null || echo none")).stdout()).toBe("none\n");
    await third.shell("echo from-c > /root/mark");
    expect((await first.shell("cat /root/mark")).stdout()).toBe("from-a\n");
    expect(existsSync(join(env().home, "sandboxes", "warm-c", "root.qcow2"))).toBe(true);
    // QEMU's sockets moved with the run directory: QMP answers where the sandbox's run directory says.
    const { record } = await Sandbox.get("warm-c");
    expect(ownerOfDir(record.runDir)).toBeUndefined(); // the sandbox's: no cleaner may take it
    const qmp = await QmpClient.connect(join(record.runDir, "qmp.sock"));
    try {
      expect(await qmp.execute("query-status")).toMatchObject({ running: true });
    } finally {
      qmp.close();
    }
    // Its network: the port published by its own stack reaches a server in it.
    await third.shell("mkdir -p /www && echo warm > /www/index.html && httpd -f -p 80 -h /www &");
    expect(await fetchText(port)).toBe("warm\n");
    // Its console log starts with the template's boot and goes on with the spare's console.
    const consoleLog = readFileSync(join(env().home, "sandboxes", "warm-c", "logs", "console.log"), "utf8");
    expect(consoleLog).toContain("--- msb: the boot of VM template");
    // It stops and starts again cold, on its own disk.
    await third.stopAndWait();
    await using again = await Sandbox.start("warm-c");
    expect((await again.shell("cat /root/mark")).stdout()).toBe("from-c\n");
  });

  it("goes with its process when no create took it: QEMU gone, its directory removed", async () => {
    const left = afterTwoCreates("warm", [
      "const spare = spareSupervisorOf();",
      // Its warm VM's run directory is owned by the spare.
      `const runRoot = ${JSON.stringify(runRoot())};`,
      "await waitForWarmSpareVm(runRoot, { ownerPid: spare?.pid, settleMs: 0 });",
      "console.log(JSON.stringify({ pid: spare?.pid, dirs: await spareVmDirs(runRoot, spare?.pid) }));",
    ]) as { pid: number; dirs: string[] };
    expect(left.pid).toBeGreaterThan(0);
    expect(left.dirs).toHaveLength(1);
    const remaining = (): string[] => left.dirs.filter((dir) => existsSync(dir));
    for (let i = 0; i < 100 && (isAlive(left.pid) || remaining().length > 0); i++) await sleep(100);
    expect(isAlive(left.pid)).toBe(false);
    expect(remaining()).toEqual([]);
  });

  it("serves a detached create too, whose sandbox outlives the process that created it", async () => {
    const made = afterTwoCreates("det", [
      "const spare = spareSupervisorOf();",
      `await waitForWarmSpareVm(${JSON.stringify(runRoot())}, { ownerPid: spare?.pid, settleMs: 1500 });`,
      "await Sandbox.createDetached({ name: 'det-z', image: 'alpine:latest' });",
      "const { record } = await Sandbox.get('det-z');",
      "console.log(JSON.stringify({ spare: spare?.pid, supervisor: record.supervisorPid }));",
    ]) as { spare: number; supervisor: number };
    // Its creator has exited: the sandbox runs on, on the spare's supervisor and warm VM.
    expect(made.supervisor).toBe(made.spare);
    expect(supervisorLog("det-z")).toContain("took the warm spare VM");
    await sleep(1_000);
    expect(isAlive(made.supervisor)).toBe(true);
    const handle = await Sandbox.get("det-z");
    expect(handle.record.status).toBe("running");
    await using box = await handle.connect();
    expect((await box.shell("hostname")).stdout()).toBe("det-z\n");
  });

  it("is discarded by a create of another shape, which boots as usual", async () => {
    await spareVmWarm();
    await using other = await Sandbox.create({ name: "warm-d", image: "alpine:latest", memoryMib: 384 });
    expect(supervisorLog("warm-d")).not.toContain("took the warm spare VM");
    expect((await other.shell("echo ok")).stdout()).toBe("ok\n");
    for (let i = 0; i < 50 && (await spareVms()).length > 1; i++) await sleep(100);
    // The one left, if any, is the new spare's, warming for this last create's shape.
    expect((await spareVms()).length).toBeLessThanOrEqual(1);
  });

  it("serves sandboxes without a NIC (policy none) too, whose VM options it must match to the last detail", async () => {
    const none = { image: "alpine:latest", network: { policy: "none" as const } };
    for (const name of ["none-a", "none-b"]) {
      const sandbox = await Sandbox.create({ name, ...none });
      await sandbox.stopAndWait();
    }
    await spareVmWarm();
    await using third = await Sandbox.create({ name: "none-c", ...none });
    expect(supervisorLog("none-c")).toContain("took the warm spare VM");
    expect((await third.shell("ip -o link | grep -c eth || true")).stdout()).toBe("0\n");
    expect((await third.shell("hostname")).stdout()).toBe("none-c\n");
  });

  it("is not warmed with VM templates off", async () => {
    process.env["MSB_TEMPLATES"] = "0";
    try {
      for (const name of ["cold-a", "cold-b"]) {
        const sandbox = await Sandbox.create({ name, image: "alpine:latest" });
        await sandbox.stopAndWait();
      }
      for (let i = 0; i < 50 && (await spareVms()).length > 0; i++) await sleep(100); // the last test's spare's
      await sleep(3_000);
      expect(await spareVms()).toEqual([]);
    } finally {
      process.env["MSB_TEMPLATES"] = "1";
    }
  });
});
