/**
 * Sandbox logs against real VMs: the main process's output, the guest console and the supervisor's JSON lines,
 * each rotated within its bound even under a guest printing without end; `sandbox.logs()`, `SandboxHandle.logs()`
 * after a stop, `logLevel` filtering, and `msb logs [-f]`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidConfigError, Sandbox } from "../../src/index.js";
import { sandboxPaths } from "../../src/sdk/context.js";
import { hostAccelerator } from "../../src/vm/accel.js";
import { startMsb } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

/** A small bound, so rotation happens within seconds: 256 KiB × 3 files. */
const MAX_BYTES = 256 * 1024;
const FILES = 3;

const env = useSandboxEnv({}, 600_000);
const saved = { max: process.env["MSB_LOG_MAX_BYTES"], files: process.env["MSB_LOG_FILES"] };
beforeAll(() => {
  process.env["MSB_LOG_MAX_BYTES"] = String(MAX_BYTES);
  process.env["MSB_LOG_FILES"] = String(FILES);
});
afterAll(() => {
  for (const [key, value] of [
    ["MSB_LOG_MAX_BYTES", saved.max],
    ["MSB_LOG_FILES", saved.files],
  ] as const) {
    if (value === undefined) Reflect.deleteProperty(process.env, key);
    else process.env[key] = value;
  }
});

function logDir(name: string): string {
  return sandboxPaths(env().home, name).logDir;
}

/** The files a log rotated with FILES = 3 consists of. */
const MAIN_LOG_FILES = ["main.log", "main.log.1", "main.log.2"];

/**
 * Sizes of main.log and its rotated files. The guest keeps printing (tens of rotations a second), so a listing
 * can fall inside a rotation, between two of its renames: one file is briefly missing. Such a listing is taken
 * again, until one shows them all; a listing with any other file fails at once (the bound would not hold).
 */
function mainLogSizes(name: string): Record<string, number> {
  const dir = logDir(name);
  for (let attempt = 0; ; attempt++) {
    const sizes: Record<string, number> = {};
    try {
      for (const file of readdirSync(dir).filter((f) => f.startsWith("main.log"))) {
        if (!MAIN_LOG_FILES.includes(file)) throw new Error(`unexpected log file ${file}`);
        sizes[file] = statSync(join(dir, file)).size;
      }
      if (Object.keys(sizes).length === MAIN_LOG_FILES.length || attempt >= 200) return sizes;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 200) throw err;
    }
  }
}

interface Events {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function parseSupervisorLog(text: string): Events[] {
  return text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Events);
}

/** The inode of `path`, or undefined while it does not exist. */
function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("sandbox logs", () => {
  it("keeps main.log and its rotated files within the bound under a guest printing without end", async () => {
    await using sandbox = await Sandbox.create({
      name: "logs-flood",
      image: "alpine:latest",
      entrypoint: ["sh", "-c", "yes 0123456789abcdef"],
    });
    const started = Date.now();
    await until("a rotation", () => existsSync(join(logDir("logs-flood"), "main.log.2")));
    const rotatedAfterMs = Date.now() - started;
    // For 6 s, count rotations (each one is MAX_BYTES more of the guest's output): the guest's rate.
    const live = join(logDir("logs-flood"), "main.log");
    let rotations = 0;
    let ino = statSync(live).ino;
    const end = Date.now() + 6_000;
    while (Date.now() < end) {
      await sleep(20);
      const now = inodeOf(live) ?? ino; // between a rotation's rename and the new file, there is none
      if (now !== ino) rotations++;
      ino = now;
    }
    const sizes = mainLogSizes("logs-flood");
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    process.stderr.write(
      `[logs] first two rotations after ${rotatedAfterMs} ms; then >= ${rotations} rotations in 6 s ` +
        `(>= ${((rotations * MAX_BYTES) / 6 / 2 ** 20).toFixed(2)} MiB/s of output); files: ${JSON.stringify(sizes)}\n`,
    );
    expect(rotations).toBeGreaterThan(2);
    expect(Object.keys(sizes).sort()).toEqual(MAIN_LOG_FILES);
    for (const size of Object.values(sizes)) expect(size).toBeLessThanOrEqual(MAX_BYTES);
    expect(total).toBeLessThanOrEqual(MAX_BYTES * FILES);
    // Still the newest output, and the sandbox still answers.
    // (the live file may end inside a line: the guest's output arrives in 64 KiB chunks)
    expect(await sandbox.logs({ tail: 2 })).toMatch(/^0123456789abcdef\n[0-9a-f]*\n?$/);
    expect((await sandbox.shell("echo alive")).stdout()).toBe("alive\n");
  });

  it("returns main output, console and supervisor lines, and still does after the stop", async () => {
    const sandbox = await Sandbox.create({
      name: "logs-read",
      image: "alpine:latest",
      entrypoint: ["sh", "-c", "echo hello-main; echo oops-main >&2; exec sleep 1000"],
    });
    await until("the main output", () =>
      readText(join(logDir("logs-read"), "main.log")).includes("oops-main"),
    );
    const main = await sandbox.logs();
    expect(main).toContain("hello-main\n");
    expect(main).toContain("oops-main\n");
    expect(await sandbox.logs({ source: "console" })).toMatch(/msb-agent: agent .* ready/);
    const events = parseSupervisorLog(await sandbox.logs({ source: "supervisor" }));
    expect(events.map((e) => e.msg)).toEqual(expect.arrayContaining(["booting", "running"]));
    expect(events.every((e) => typeof (e as unknown as { time: string }).time === "string")).toBe(true);
    await expect(sandbox.logs({ source: "nope" as "main" })).rejects.toThrow(InvalidConfigError);

    await sandbox.stopAndWait();
    const handle = await Sandbox.get("logs-read");
    expect(handle.status).toBe("stopped");
    expect(await handle.logs()).toContain("hello-main\n");
    // The console keeps the guest's shutdown: Debian's kernel powers off through ACPI; the microvm kernel has no
    // ACPI (reboot=t, and QEMU's -no-reboot turns the restart into the exit).
    expect(await handle.logs({ source: "console" })).toMatch(/reboot: (Power down|Restarting system)/);
    const after = parseSupervisorLog(await handle.logs({ source: "supervisor" }));
    expect(after.map((e) => e.msg)).toContain("stopped");
    expect(await handle.logs({ source: "supervisor", tail: 1 })).toMatch(/"msg":"stopped"/);
  });

  it("filters the supervisor log by logLevel and validates logLevel and quietLogs", async () => {
    await expect(
      Sandbox.create({ name: "bad-level", image: "alpine:latest", logLevel: "loud" as "info" }),
    ).rejects.toThrow(/invalid logLevel/);
    await expect(
      Sandbox.create({ name: "bad-quiet", image: "alpine:latest", quietLogs: "yes" as unknown as boolean }),
    ).rejects.toThrow(/invalid quietLogs/);

    {
      await using debug = await Sandbox.create({
        name: "logs-debug",
        image: "alpine:latest",
        logLevel: "debug",
        quietLogs: true,
      });
      await debug.shell("true");
      const events = parseSupervisorLog(await debug.logs({ source: "supervisor" }));
      expect(events.some((e) => e.level === "debug" && e.msg === "client connected")).toBe(true);
    }
    {
      await using warn = await Sandbox.create({
        name: "logs-warn",
        image: "alpine:latest",
        logLevel: "warn",
        quietLogs: true,
      });
      await warn.shell("true");
      const events = parseSupervisorLog(await warn.logs({ source: "supervisor" }));
      for (const event of events) expect(["warn", "error"]).toContain(event.level);
      // The product's own choice (a /dev/kvm may exist and still be unusable: the KVM probe decides).
      if (hostAccelerator() === "tcg") {
        expect(events.some((e) => e.level === "warn" && /TCG/.test(e.msg))).toBe(true);
      }
    }
  });

  it("msb logs prints a log; msb logs -f follows it until the sandbox stops", async () => {
    const sandbox = await Sandbox.create({
      name: "logs-cli",
      image: "alpine:latest",
      // Paced by a busy loop, not sleep: a TCG guest's timers can stall for seconds on a loaded host.
      entrypoint: [
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); j=0; while [ $j -lt 3000 ]; do j=$((j+1)); done; done",
      ],
    });
    await until("some ticks", () => /tick 3\n/.test(readText(join(logDir("logs-cli"), "main.log"))), 60_000);

    const plain = await msbProcess("logs", "logs-cli").done;
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^tick 0\ntick 1\n/);
    const tail = await msbProcess("logs", "--tail", "2", "logs-cli").done;
    expect(tail.stdout.trimEnd().split("\n")).toHaveLength(2);
    const sup = await msbProcess("logs", "--source", "supervisor", "logs-cli").done;
    expect(sup.stdout).toMatch(/"msg":"running"/);
    const bad = await msbProcess("logs", "--source", "kernel", "logs-cli").done;
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid source/);

    const follow = msbProcess("logs", "-f", "--tail", "1", "logs-cli");
    const seenAt = (): number => Number(/tick (\d+)\n$/.exec(follow.out())?.[1] ?? -1);
    await until("the follower's first line", () => seenAt() >= 0, 20_000);
    const first = seenAt();
    await until("new lines through the follower", () => seenAt() >= first + 5, 20_000);
    const stopped = Date.now();
    await sandbox.stopAndWait();
    const result = await Promise.race([follow.done, sleep(15_000).then(() => undefined)]);
    if (result === undefined) follow.child.kill("SIGKILL");
    expect(result?.code).toBe(0);
    process.stderr.write(`[logs] msb logs -f ended ${Date.now() - stopped} ms after the stop began\n`);
    // Every line once, in order (then the supervisor's note that the main process ended).
    const ticks = (result?.stdout ?? "")
      .split("\n")
      .filter((l) => l.startsWith("tick"))
      .map((l) => Number(/^tick (\d+)$/.exec(l)?.[1]));
    expect(ticks.length).toBeGreaterThan(5);
    expect(ticks.every((n, i) => i === 0 || n === (ticks[i - 1] ?? 0) + 1)).toBe(true);
  });

  it("shows the sandbox's boot warnings on the creator's stderr unless quietLogs", async () => {
    const tcg = hostAccelerator() === "tcg";
    const loud = await msbProcess("run", "--rm", "--name", "logs-loud", "alpine:latest", "--", "true").done;
    expect(loud.code).toBe(0);
    if (tcg) {
      // The warning says why: the setting, or what is wrong with KVM on this host.
      expect(loud.stderr).toMatch(
        /MSB_SANDBOX.*sandbox logs-loud: microVMs run under TCG .*\((MSB_ACCEL=tcg|no usable KVM: \S.*)\)/,
      );
    }
    const quiet = await msbProcess(
      "run",
      "--rm",
      "--quiet-logs",
      "--log-level",
      "debug",
      "--name",
      "logs-quiet",
      "alpine:latest",
      "--",
      "true",
    ).done;
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/MSB_SANDBOX/);
    const badLevel = await msbProcess("run", "--rm", "--log-level", "loud", "alpine:latest", "--", "true")
      .done;
    expect(badLevel.code).toBe(125);
    expect(badLevel.stderr).toMatch(/invalid logLevel/);
  });

  it("msb logs -f follows across rotations and ends on SIGINT", async () => {
    await using sandbox = await Sandbox.create({
      name: "logs-follow-flood",
      image: "alpine:latest",
      entrypoint: ["sh", "-c", "yes 0123456789abcdef"],
    });
    await until("output", () => existsSync(join(logDir("logs-follow-flood"), "main.log")));
    const follow = msbProcess("logs", "-f", "--tail", "0", "logs-follow-flood");
    // Output comes only once it follows (--tail 0), after its SIGINT handler is installed.
    await until("the follower's output", () => follow.out().length > 0, 30_000);
    const bytesBefore = follow.out().length;
    await until("a rotation", () => existsSync(join(logDir("logs-follow-flood"), "main.log.2")));
    await sleep(2_000);
    follow.child.kill("SIGINT");
    const result = await follow.done;
    expect(result.code).toBe(0);
    process.stderr.write(
      `[logs] msb logs -f read ${result.stdout.length} bytes (${bytesBefore} when first seen)\n`,
    );
    // More than the whole bound went through the follower: it crossed rotations.
    expect(result.stdout.length).toBeGreaterThan(MAX_BYTES * FILES);
    // Whole lines between the first and last (partial) ones. A follower slower than the whole bound (here
    // 768 KiB against a guest writing MB/s, while its stdout waits for this busy test process) loses the oldest
    // bytes, as `tail -F` does: a few cut lines are allowed, not garbage.
    const lines = result.stdout.split("\n").slice(1, -1);
    const cut = lines.filter((l) => l !== "0123456789abcdef");
    process.stderr.write(`[logs] ${lines.length} lines followed, ${cut.length} cut by lost bytes\n`);
    expect(cut.every((l) => /^[0-9a-f]{0,32}$/.test(l))).toBe(true);
    expect(cut.length).toBeLessThan(lines.length / 1000);
    expect(sandbox.name).toBe("logs-follow-flood");
  });
});

function readText(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

function msbProcess(...args: string[]): ReturnType<typeof startMsb> {
  return startMsb(args);
}
