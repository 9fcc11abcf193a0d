import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { processAlive } from "../../src/store/sandbox-repository.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { bootBusyboxVm, qemuProcessesMentioning, reportConsole, vmRunDir } from "../fixtures/vm.js";

async function withRunDir<T>(name: string, body: (runDir: string) => Promise<T>): Promise<T> {
  const runDir = vmRunDir(name);
  try {
    const result = await body(runDir);
    rmSync(runDir, { recursive: true, force: true });
    return result;
  } catch (err) {
    reportConsole(runDir);
    throw err;
  }
}

describe("VM lifecycle", () => {
  it("shuts down through the agent and leaves no QEMU process", async () => {
    await withRunDir("shutdown", async (runDir) => {
      const vm = await bootBusyboxVm(runDir);
      const pid = vm.pid;
      expect(processAlive(pid)).toBe(true);
      expect((await vm.exec({ argv: ["sync"] })).code).toBe(0);
      const started = Date.now();
      const exit = await vm.shutdown();
      // The guest powered itself off: QEMU exits 0 without our QMP quit or SIGKILL.
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(processAlive(pid)).toBe(false);
      expect(qemuProcessesMentioning(runDir)).toEqual([]);
      await expect(vm.exec({ argv: ["true"] })).rejects.toMatchObject({ code: "MSB_ERR_INVALID_STATE" });
    });
  });

  it("supports await using", async () => {
    await withRunDir("dispose", async (runDir) => {
      let pid = 0;
      {
        await using vm = await bootBusyboxVm(runDir);
        pid = vm.pid;
      }
      expect(processAlive(pid)).toBe(false);
    });
  });

  it("reports a killed QEMU as a VM error on the next exec", async () => {
    await withRunDir("killed", async (runDir) => {
      const vm = await bootBusyboxVm(runDir);
      process.kill(vm.pid, "SIGKILL");
      await vm.exited;
      await expect(vm.exec({ argv: ["true"] })).rejects.toMatchObject({ code: "MSB_ERR_VM_EXITED" });
      await vm.shutdown();
    });
  });

  it("leaves no QEMU behind when its owner process is SIGKILLed", async () => {
    await withRunDir("orphan", async (runDir) => {
      const script = join(repoRoot, "test", "fixtures", "boot-and-wait.ts");
      const child = spawn(process.execPath, ["--import", "tsx", script, runDir], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /qemu-pid=(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        child.once("exit", (code) => {
          reject(new Error(`owner exited early with ${code}`));
        });
      });
      expect(processAlive(pid)).toBe(true);
      child.kill("SIGKILL");
      const deadline = Date.now() + 5_000;
      while (processAlive(pid) && Date.now() < deadline) await sleep(50);
      expect(processAlive(pid)).toBe(false);
      expect(qemuProcessesMentioning(runDir)).toEqual([]);
      expect(existsSync(join(runDir, "console.log"))).toBe(true);
    });
  });
});
