/**
 * The Sandbox API against real VMs and images from the local test registry (through a Docker Hub mirror, so
 * the seed's image names work unmodified).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { processAlive } from "../../src/store/sandbox-repository.js";
import {
  ExecTimeoutError,
  InvalidConfigError,
  Sandbox,
  SandboxCrashedError,
  SandboxExistsError,
  SandboxNotFoundError,
  VmError,
} from "../../src/index.js";
import { msbPaths } from "../../src/config/paths.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv({ python: true });

describe("the seed README examples, verbatim", () => {
  it("Quick Start", async () => {
    const lines: string[] = [];
    const console = { log: (line: string) => lines.push(line) };
    // --- seed Quick Start ---
    // Create a sandbox from an OCI image.
    const sandbox = await Sandbox.create({
      name: "my-sandbox",
      image: "alpine:latest",
      cpus: 1,
      memoryMib: 512,
    });

    // Run a command.
    const output = await sandbox.shell("echo 'Hello from microsandbox!'");
    console.log(output.stdout());

    // Stop the sandbox.
    await sandbox.stopAndWait();
    // --- end ---
    expect(lines).toEqual(["Hello from microsandbox!\n"]);
    expect((await Sandbox.get("my-sandbox")).status).toBe("stopped");
  });

  it("Command Execution (collected)", async () => {
    const lines: unknown[] = [];
    const console = { log: (line: unknown) => lines.push(line) };
    // --- seed Command Execution, collected part ---
    const sandbox = await Sandbox.create({
      name: "exec-demo",
      image: "python:3.12",
      replace: true,
    });

    // Collected output.
    const result = await sandbox.exec("python3", ["-c", "print(1 + 1)"]);
    console.log(result.stdout()); // "2\n"
    console.log(result.code); // 0

    // Shell command (pipes, redirects, etc.).
    const output = await sandbox.shell("echo hello && pwd");
    console.log(output.stdout());
    // --- end ---
    await sandbox.shell(
      "mkdir -p /app/lib && echo 'import os; print(os.environ[\"PYTHONPATH\"])' > /app/script.py",
    );
    // --- seed: full configuration ---
    const configured = await sandbox.execWithConfig({
      cmd: "python3",
      args: ["script.py"],
      cwd: "/app",
      env: { PYTHONPATH: "/app/lib" },
      timeoutMs: 30000,
    });
    // --- end ---
    expect(lines).toEqual(["2\n", 0, "hello\n/\n"]);
    expect(configured.stdout()).toBe("/app/lib\n");
    expect(configured.status()).toEqual({ code: 0, success: true });
    expect((await sandbox.shell("echo $LANG")).stdout()).toBe("C.UTF-8\n"); // the image's Env applies
    await sandbox.stopAndWait();
  });
});

describe("Sandbox lifecycle and errors", () => {
  it("refuses a name clash unless replace is set", async () => {
    await using first = await Sandbox.create({
      name: "clash",
      image: "alpine:latest",
      labels: { team: "a" },
    });
    await expect(Sandbox.create({ name: "clash", image: "alpine:latest" })).rejects.toBeInstanceOf(
      SandboxExistsError,
    );
    expect((await first.shell("echo still-here")).stdout()).toBe("still-here\n");
    const second = await Sandbox.create({ name: "clash", image: "alpine:latest", replace: true });
    expect((await second.exec("echo", ["second"])).stdout()).toBe("second\n");
    const handle = await Sandbox.get("clash");
    expect(handle.status).toBe("running");
    expect(JSON.parse(handle.configJson)).toMatchObject({ name: "clash", replace: true });
    await second.stopAndWait();
  });

  it("creates five sandboxes concurrently", async () => {
    const names = ["c1", "c2", "c3", "c4", "c5"];
    const boxes = await Promise.all(names.map((name) => Sandbox.create({ name, image: "alpine:latest" })));
    const outs = await Promise.all(boxes.map((b) => b.shell("hostname")));
    expect(outs.map((o) => o.stdout())).toEqual(names.map((n) => `${n}\n`));
    await Promise.all(boxes.map((b) => b.stopAndWait()));
    const listed = (await Sandbox.list()).filter((i) => names.includes(i.name));
    expect(listed.map((i) => i.status)).toEqual(names.map(() => "stopped"));
  }, 300_000);

  it("applies config defaults: env, workdir, user, hostname, labels, main process", async () => {
    await using box = await Sandbox.create({
      name: "defaults",
      image: "alpine:latest",
      env: { GREETING: "hi" },
      workdir: "/tmp",
      user: "65534",
      hostname: "custom-host",
      labels: { purpose: "test" },
      cmd: ["sh", "-c", "echo main-ran > /tmp/main.txt"],
    });
    const out = await box.shell('echo "$GREETING $(pwd) $(id -u) $(hostname)"');
    expect(out.stdout()).toBe("hi /tmp 65534 custom-host\n");
    await sleep(500);
    expect((await box.exec("cat", ["/tmp/main.txt"])).stdout()).toBe("main-ran\n");
    expect((await Sandbox.list()).find((i) => i.name === "defaults")?.labels).toEqual({ purpose: "test" });
  });

  it("throws ExecTimeoutError with the partial output", async () => {
    await using box = await Sandbox.create({ name: "timeouts", image: "alpine:latest" });
    const err = await box
      .execWithConfig({ cmd: "sh", args: ["-c", "echo partial; sleep 30"], timeoutMs: 1000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecTimeoutError);
    expect((err as ExecTimeoutError).stdout.toString()).toBe("partial\n");
  });

  it("marks a sandbox whose QEMU was killed as crashed", async () => {
    const box = await Sandbox.create({ name: "crashy", image: "alpine:latest" });
    const qemuPid = (await Sandbox.get("crashy")).record.qemuPid ?? 0;
    process.kill(qemuPid, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while ((await Sandbox.get("crashy")).status !== "crashed" && Date.now() < deadline) await sleep(100);
    expect((await Sandbox.get("crashy")).status).toBe("crashed");
    await expect(box.shell("true")).rejects.toBeInstanceOf(SandboxCrashedError);
    await Sandbox.remove("crashy");
    await expect(Sandbox.get("crashy")).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it("stops the sandbox when its creator is SIGKILLed", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "test/fixtures/create-and-wait.ts"), "orphan", "alpine:latest"],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"], env: process.env },
    );
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /pids supervisor=(\d+) qemu=(\d+)/.exec(out);
        if (m) resolve([Number(m[1]), Number(m[2])]);
      });
      child.once("exit", (code) => {
        reject(new Error(`creator exited early (${code})`));
      });
    });
    expect(pids.every(processAlive)).toBe(true);
    child.kill("SIGKILL");
    const deadline = Date.now() + 5_000;
    while (pids.some(processAlive) && Date.now() < deadline) await sleep(50);
    expect(pids.filter(processAlive)).toEqual([]);
    expect((await Sandbox.get("orphan")).status).toBe("stopped");
  }, 120_000);

  it.each([
    [{ name: "neg", image: "alpine:latest", cpus: -1 }, "cpus"],
    [{ name: "pp", image: "alpine:latest", pullPolicy: "sometimes" }, "pullPolicy"],
    [{ name: "", image: "alpine:latest" }, "name"],
    [{ name: "a/b", image: "alpine:latest" }, "name"],
    [
      { name: "vol", image: "alpine:latest", volumes: { "/d": { tmpfs: true, sizeMib: 0 } } },
      "volumes./d.sizeMib",
    ],
    [{ name: "typo", image: "alpine:latest", memoryMB: 512 }, "memoryMB"],
  ])("rejects %j before creating anything", async (config, field) => {
    const before = readdirSync(msbPaths(env().home).sandboxesDir, { withFileTypes: true }).length;
    const err = await Sandbox.create(config as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toBe(field);
    expect(readdirSync(msbPaths(env().home).sandboxesDir, { withFileTypes: true }).length).toBe(before);
  });

  it("leaves nothing behind when the image does not exist", async () => {
    await expect(
      Sandbox.create({ name: "ghost", image: "no-such-image:1", pullPolicy: "never" }),
    ).rejects.toMatchObject({ code: "MSB_ERR_IMAGE_NOT_FOUND" });
    await expect(Sandbox.create({ name: "ghost", image: "no-such-image:1" })).rejects.toMatchObject({
      code: "MSB_ERR_IMAGE_NOT_FOUND",
    });
    await expect(
      Sandbox.create({ name: "ghost", image: `${env().registry.host}/busybox:no-such-tag` }),
    ).rejects.toMatchObject({ code: "MSB_ERR_IMAGE_NOT_FOUND" });
    await expect(Sandbox.get("ghost")).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(existsSync(join(msbPaths(env().home).sandboxesDir, "ghost"))).toBe(false);
  });

  it("fails at once, in node's words, when the supervisor dies before it reads its spec", async () => {
    // Node refuses to start on an option it does not allow in NODE_OPTIONS, long before the spec is sent.
    const previous = process.env["NODE_OPTIONS"];
    process.env["NODE_OPTIONS"] = "--msb-no-such-option";
    try {
      const started = performance.now();
      const err = await Sandbox.create({ name: "unborn", image: "alpine:latest" }).catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(10_000); // it used to wait for a report forever
      expect(err).toBeInstanceOf(VmError);
      expect(err).toMatchObject({ code: "MSB_ERR_VM_START" });
      expect((err as VmError).message).toMatch(
        /the supervisor exited \(code \d+\) before it was ready: .*--msb-no-such-option is not allowed in NODE_OPTIONS/,
      );
      expect((err as VmError).hint).toMatch(/see the logs in .*sandboxes\/unborn\/logs/);
    } finally {
      if (previous === undefined) delete process.env["NODE_OPTIONS"];
      else process.env["NODE_OPTIONS"] = previous;
    }
    await expect(Sandbox.get("unborn")).rejects.toBeInstanceOf(SandboxNotFoundError);
  });
});
