/**
 * The sandbox lifecycle against real VMs: stop and start again from its own disk, detach and reconnect from
 * another process, drain, the stop signal, the time limit, handles bound to one incarnation, and what a crash
 * of the supervisor, of QEMU or of the creator leaves (a true status, no process).
 */
import { spawn } from "node:child_process";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  InvalidStateError,
  Sandbox,
  SandboxCrashedError,
  SandboxNotFoundError,
  SandboxStillRunningError,
} from "../../src/index.js";
import { isRunning } from "../../src/os/process-identity.js";
import { qemuOf, supervisorOf } from "../../src/store/sandbox-repository.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();

/** Runs a helper script under tsx; resolves with its stdout once it printed `marker` (or rejects). */
function runHelper(script: string, args: string[], marker: RegExp) {
  const child = spawn(process.execPath, ["--import", "tsx", `test/fixtures/${script}`, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const output = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (marker.test(out)) resolve(out);
    });
    child.once("exit", (code) => {
      if (!marker.test(out)) reject(new Error(`${script} exited with ${code} before ${marker}: ${out}`));
    });
  });
  return { child, output };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("stop and start", () => {
  it("keeps files and config across two restarts, and refuses to start a running sandbox", async () => {
    const first = await Sandbox.create({ name: "restart", image: "alpine:latest", env: { GREETING: "hi" } });
    await first.shell("echo kept > /root/file && sync");
    await expect(Sandbox.start("restart")).rejects.toBeInstanceOf(SandboxStillRunningError);
    expect((await first.stopAndWait()).code).toBe(0);

    const second = await Sandbox.start("restart");
    expect(second.ownsLifecycle).toBe(true);
    expect(second.id).toBe(first.id);
    expect((await second.shell("cat /root/file; echo $GREETING")).stdout()).toBe("kept\nhi\n");
    await second.shell("echo again >> /root/file && sync");
    await second.stopAndWait();

    const handle = await Sandbox.get("restart");
    expect(handle.status).toBe("stopped");
    const third = await handle.start();
    expect((await third.shell("cat /root/file")).stdout()).toBe("kept\nagain\n");
    expect((await Sandbox.get("restart")).record.starts).toBe(3);
    await third.stopAndWait();
    await Sandbox.remove("restart");
  });
});

describe("detach and reconnect", () => {
  it("outlives its creator after detach(); another process connects and runs commands", async () => {
    const { child, output } = runHelper("detach-and-exit.ts", ["detached", "alpine:latest"], /owns=/);
    expect(await output).toContain("detached owns=false");
    await new Promise((resolve) => child.once("exit", resolve));
    await sleep(500); // the owner pipe closed with the creator: a sandbox still attached would stop now
    const handle = await Sandbox.get("detached");
    expect(handle.status).toBe("running");
    const sandbox = await handle.connect();
    expect(sandbox.ownsLifecycle).toBe(false);
    expect((await sandbox.shell("cat /root/owner")).stdout()).toBe("first-owner\n");
    await sandbox[Symbol.asyncDispose](); // not the owner: only disconnects
    expect((await Sandbox.get("detached")).status).toBe("running");
    await (await Sandbox.get("detached")).stop();
    expect((await Sandbox.get("detached")).status).toBe("stopped");
    await Sandbox.remove("detached");
  });
});

describe("drain", () => {
  it("lets a running command finish, refuses new ones, then stops", async () => {
    const sandbox = await Sandbox.create({ name: "drain", image: "alpine:latest" });
    const running = await sandbox.shellStream("sleep 2; echo finished");
    await sandbox.drain();
    expect((await Sandbox.get("drain")).status).toBe("draining");
    await expect(sandbox.shell("echo new")).rejects.toBeInstanceOf(InvalidStateError);
    const out = await running.collect();
    expect(out.stdout()).toBe("finished\n");
    expect((await sandbox.wait()).code).toBe(0);
    const handle = await Sandbox.get("drain");
    expect([handle.status, handle.exitReason]).toEqual(["stopped", "drained"]);
    await handle.remove();
  });
});

describe("stop signal and time limit", () => {
  it("sends stopSignal to the main process, which traps it", async () => {
    const trap = 'trap "echo got-usr1 > /root/signal; sync; exit 0" USR1; while true; do sleep 0.1; done';
    const sandbox = await Sandbox.create({
      name: "stopsig",
      image: "alpine:latest",
      entrypoint: ["/bin/sh", "-c", trap],
      stopSignal: "SIGUSR1",
    });
    await sleep(500); // the trap is set
    const started = Date.now();
    await sandbox.stopAndWait();
    expect(Date.now() - started).toBeLessThan(9_000); // it exited on the signal, not at the grace period's end
    const again = await Sandbox.start("stopsig");
    expect((await again.shell("cat /root/signal")).stdout()).toBe("got-usr1\n");
    await again.kill();
    await Sandbox.remove("stopsig");
  });

  it("stops itself after maxDurationSecs and says why", async () => {
    const sandbox = await Sandbox.create({ name: "limited", image: "alpine:latest", maxDurationSecs: 5 });
    const started = Date.now();
    expect((await sandbox.wait()).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const handle = await Sandbox.get("limited");
    expect([handle.status, handle.exitReason]).toEqual(["stopped", "maxDurationSecs (5) reached"]);
    await handle.remove();
  });
});

describe("one handle, one incarnation", () => {
  it("a stale handle never kills or removes the sandbox that replaced it", async () => {
    const old = await Sandbox.createDetached({ name: "reborn", image: "alpine:latest" });
    const stale = await Sandbox.get("reborn");
    const fresh = await Sandbox.create({ name: "reborn", image: "alpine:latest", replace: true });
    expect(fresh.id).not.toBe(old.id);
    await stale.kill();
    await old.kill();
    await expect(stale.remove()).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect((await fresh.shell("echo alive")).stdout()).toBe("alive\n");
    expect((await Sandbox.get("reborn")).status).toBe("running");
    await fresh.stopAndWait();
    await Sandbox.remove("reborn");
  });
});

/** Settles with what `promise` failed with (handled from the start: it may fail before the test looks). */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("expected a failure"),
    (err: unknown) => err,
  );
}

describe("crashes", () => {
  it("a SIGKILLed supervisor fails the exec in flight and later calls with SandboxCrashedError", async () => {
    const sandbox = await Sandbox.create({ name: "sup-kill", image: "alpine:latest" });
    const record = (await Sandbox.get("sup-kill")).record;
    const supervisor = supervisorOf(record);
    const qemu = qemuOf(record);
    if (supervisor === undefined || qemu === undefined) throw new Error("no processes recorded");
    const inFlight = sandbox.shell("sleep 30");
    const streamed = await sandbox.shellStream("sleep 30");
    // A guest file being written, and one being read (/dev/zero, never consumed: its credit runs out, it waits).
    const sink = sandbox.fs().writeStream("/tmp/in-flight");
    sink.write(Buffer.alloc(4096, 1));
    const written = failureOf(finished(sink));
    const reading = failureOf(finished(sandbox.fs().readStream("/dev/zero")));
    await sleep(500);
    process.kill(supervisor.pid, "SIGKILL");
    await expect(inFlight).rejects.toBeInstanceOf(SandboxCrashedError);
    await expect(streamed.wait()).rejects.toBeInstanceOf(SandboxCrashedError);
    expect(await written).toBeInstanceOf(SandboxCrashedError);
    expect(await reading).toBeInstanceOf(SandboxCrashedError);
    await expect(sandbox.shell("true")).rejects.toBeInstanceOf(SandboxCrashedError);
    const fs = sandbox.fs();
    await expect(fs.stat("/")).rejects.toBeInstanceOf(SandboxCrashedError);
    // Operations that stream (and those built on them) say so too, on a connection already lost.
    await expect(fs.read("/etc/hostname")).rejects.toBeInstanceOf(SandboxCrashedError);
    await expect(fs.write("/tmp/after", "x")).rejects.toBeInstanceOf(SandboxCrashedError);
    await expect(fs.list("/")).rejects.toBeInstanceOf(SandboxCrashedError);
    await expect(finished(fs.readStream("/etc/hostname").resume())).rejects.toBeInstanceOf(
      SandboxCrashedError,
    );
    expect((await sandbox.stopAndWait()).code).toBe(1); // resolves: `await using` cleans up
    await until(() => !isRunning(qemu), 5_000, "QEMU to follow its supervisor");
    const handle = await Sandbox.get("sup-kill");
    expect([handle.status, handle.exitReason]).toEqual(["crashed", "supervisor exited"]);
    await handle.remove();
  });

  it("a SIGKILLed QEMU makes the sandbox crashed with that reason, and it can start again", async () => {
    const sandbox = await Sandbox.create({ name: "qemu-kill", image: "alpine:latest" });
    const qemu = qemuOf((await Sandbox.get("qemu-kill")).record);
    if (qemu === undefined) throw new Error("no QEMU recorded");
    const inFlight = sandbox.shell("sleep 30");
    await sleep(500);
    process.kill(qemu.pid, "SIGKILL");
    const err = await inFlight.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SandboxCrashedError);
    expect((err as Error).message).toContain("QEMU was killed by SIGKILL");
    expect((await sandbox.wait()).code).toBe(1);
    expect((await Sandbox.get("qemu-kill")).status).toBe("crashed");
    const again = await Sandbox.start("qemu-kill");
    expect((await again.shell("echo back")).stdout()).toBe("back\n");
    await again.stopAndWait();
    await Sandbox.remove("qemu-kill");
  });

  it("a guest kernel panic makes the sandbox crashed, named from the console", async () => {
    const sandbox = await Sandbox.create({ name: "panic", image: "alpine:latest" });
    const err = await sandbox.shell("echo c > /proc/sysrq-trigger; sleep 30").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SandboxCrashedError);
    expect((err as Error).message).toMatch(/guest kernel panic \(Kernel panic - not syncing: sysrq/);
    expect((await sandbox.wait()).code).toBe(1);
    const handle = await Sandbox.get("panic");
    expect(handle.status).toBe("crashed");
    expect(await handle.logs({ source: "console" })).toContain("Kernel panic");
    await handle.remove();
  });

  it("a creator that dies while the VM boots leaves a stopped sandbox and no process", async () => {
    const { child, output } = runHelper("create-and-wait.ts", ["orphan", "alpine:latest"], /pids/);
    output.catch(() => undefined); // it is killed before it prints: that is the point
    let supervisor: ReturnType<typeof supervisorOf>;
    await until(
      async () => {
        const record = await Sandbox.get("orphan").then(
          (h) => h.record,
          () => undefined,
        );
        supervisor = record && record.status === "creating" ? supervisorOf(record) : undefined;
        return supervisor !== undefined;
      },
      60_000,
      "the supervisor to record itself",
    );
    child.kill("SIGKILL");
    await until(() => supervisor === undefined || !isRunning(supervisor), 60_000, "the supervisor to exit");
    const handle = await Sandbox.get("orphan");
    expect([handle.status, handle.exitReason]).toEqual(["stopped", "creator exited"]);
    const qemu = qemuOf(handle.record);
    if (qemu !== undefined) expect(isRunning(qemu)).toBe(false);
    await handle.remove();
    const next = await Sandbox.create({ name: "orphan", image: "alpine:latest" });
    await next.stopAndWait();
    await Sandbox.remove("orphan");
  });
});
