/**
 * Streaming exec against a real VM: events in order as they happen, stdin of any size in order, EOF, signals,
 * kill and disposal, flow control with bounded memory, and no stream or process left behind by a client that
 * goes away or an output limit.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidConfigError, OutputLimitError, Sandbox, Stdin } from "../../src/index.js";
import type { ExecEvent } from "../../src/index.js";
import { FrameDecoder, FrameKind, encodeFrame } from "../../src/protocol/index.js";
import type { Frame } from "../../src/protocol/index.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();
let box: Sandbox | undefined;
const sandbox = (): Sandbox => {
  if (box === undefined) throw new Error("no sandbox");
  return box;
};

beforeAll(async () => {
  box = await Sandbox.create({ name: "stream", image: "alpine:latest", memoryMib: 512 });
}, 180_000);
afterAll(async () => {
  await box?.stopAndWait();
});

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** Waits until the supervisor and the guest hold no stream but the stats query's own. */
async function expectNoStreams(): Promise<void> {
  const deadline = Date.now() + 15_000;
  let stats = await sandbox().debugStats();
  while ((stats.streams > 0 || stats.guestStreams > 0 || stats.agentStreams > 0) && Date.now() < deadline) {
    await sleep(200);
    stats = await sandbox().debugStats();
  }
  expect(stats).toMatchObject({ streams: 0, agentStreams: 0, guestStreams: 0 });
}

async function guestCount(pattern: string): Promise<number> {
  const out = await sandbox().shell(`ps -o args | grep -c '^${pattern}' || true`);
  return Number(out.stdout().trim());
}

describe("execStream", () => {
  it("delivers events in order while the command runs", async () => {
    const handle = await sandbox().shellStream("echo first; sleep 1; echo second >&2; exit 3");
    const seen: { event: ExecEvent; at: number }[] = [];
    for await (const event of handle) seen.push({ event, at: Date.now() });
    expect(seen.map((s) => s.event.eventType)).toEqual(["started", "stdout", "stderr", "exited"]);
    const [started, out, err, exited] = seen;
    expect(started?.event).toMatchObject({ eventType: "started", pid: handle.pid });
    expect(out?.event).toMatchObject({ eventType: "stdout", data: Buffer.from("first\n") });
    expect(err?.event).toMatchObject({ eventType: "stderr", data: Buffer.from("second\n") });
    expect(exited?.event).toMatchObject({ eventType: "exited", code: 3 });
    // stdout arrived while the command was still sleeping, not with the exit.
    expect((exited?.at ?? 0) - (out?.at ?? 0)).toBeGreaterThan(700);
    expect(await handle.recv()).toBeNull();
  });

  it("runs the seed README's streaming example", async () => {
    await sandbox().shell("mkdir -p /var/log && echo booting > /var/log/app.log");
    const chunks: Buffer[] = [];
    const process = { stdout: { write: (data: Buffer) => chunks.push(data) } };
    // --- seed: Streaming output ---
    const handle = await sandbox().execStream("tail", ["-f", "/var/log/app.log"]);
    let event;
    while ((event = await handle.recv()) !== null) {
      if (event.eventType === "stdout") process.stdout.write(event.data);
      // --- end (the seed loops forever; the test appends a line, then stops reading) ---
      if (Buffer.concat(chunks).toString() === "booting\n")
        await sandbox().shell("echo ready >> /var/log/app.log");
      if (Buffer.concat(chunks).toString().includes("ready\n")) break;
    }
    expect(Buffer.concat(chunks).toString()).toBe("booting\nready\n");
    await handle.kill();
    expect(await handle.wait()).toEqual({ code: 137, success: false });
  });

  it("collects and waits like the seed", async () => {
    const collected = await (await sandbox().shellStream("echo out; echo err >&2; exit 4")).collect();
    expect([collected.stdout(), collected.stderr(), collected.code]).toEqual(["out\n", "err\n", 4]);
    expect(await (await sandbox().shellStream("exit 0")).wait()).toEqual({ code: 0, success: true });
  });

  it("rejects at once for a command that cannot start", async () => {
    await expect(sandbox().execStream("no-such-command")).rejects.toMatchObject({
      code: "MSB_ERR_COMMAND_NOT_FOUND",
    });
  });
});

describe("stdin", () => {
  for (const size of [512 * 1024, 64 * 1024 * 1024]) {
    it(`arrives intact and in order through takeStdin: ${size} bytes`, async () => {
      const data = randomBytes(size);
      const handle = await sandbox().execStream("sha256sum", [], { stdin: "pipe" });
      const sink = await handle.takeStdin();
      expect(sink).not.toBeNull();
      expect(await handle.takeStdin()).toBeNull();
      for (let i = 0; i < data.length; i += 1 << 20) await sink?.write(data.subarray(i, i + (1 << 20)));
      await sink?.close();
      const out = await handle.collect();
      expect(out.stdout().split(" ")[0]).toBe(sha256(data));
    }, 300_000);
  }

  it("arrives intact through collected exec (the 256 KiB cut-off bug)", async () => {
    const data = randomBytes(512 * 1024);
    const out = await sandbox().execWithConfig({ cmd: "wc", args: ["-c"], stdin: data });
    expect(out.stdout().trim()).toBe(String(data.length));
    const text = await sandbox().execWithConfig({ cmd: "cat", stdin: Stdin.bytes("pipe") });
    expect(text.stdout()).toBe("pipe");
    const empty = await sandbox().execWithConfig({ cmd: "wc", args: ["-c"], stdin: "pipe" });
    expect(empty.stdout().trim()).toBe("0");
  });

  it("ends with close(): cat exits", async () => {
    const handle = await sandbox().execStream("cat", [], { stdin: "pipe" });
    const sink = await handle.takeStdin();
    await sink?.write("hello ");
    await sink?.write(Buffer.from("world"));
    await sink?.close();
    const out = await handle.collect();
    expect([out.stdout(), out.code]).toEqual(["hello world", 0]);
  });
});

describe("signals, kill and disposal", () => {
  it("delivers every signal 1–31 to the process group", async () => {
    const catchable = Array.from({ length: 31 }, (_, i) => i + 1).filter((n) => n !== 9 && n !== 19);
    // Builtins only: a child process would raise SIGCHLD (17) by itself.
    const script = `${catchable.map((n) => `trap 'echo got-${n}' ${n}`).join("; ")}; echo ready; while :; do :; done`;
    const handle = await sandbox().shellStream(script);
    const lines = createLineReader(handle);
    expect(await lines.next()).toBe("ready");
    for (const n of catchable) {
      await handle.signal(n);
      expect(await lines.next()).toBe(`got-${n}`);
    }
    await handle.signal(19); // SIGSTOP: the group stops; SIGCONT resumes it
    await handle.signal(18);
    expect(await lines.next()).toBe("got-18");
    await handle.signal(9);
    expect(await handle.wait()).toEqual({ code: 137, success: false });
  });

  it("reports death by signal as 128 + n", async () => {
    const handle = await sandbox().execStream("sleep", ["30"]);
    await handle.signal(15);
    expect(await handle.wait()).toEqual({ code: 143, success: false });
  });

  it("kill() ends the stream and the guest process", async () => {
    const handle = await sandbox().execStream("sleep", ["1001"]);
    expect(await guestCount("sleep 1001")).toBe(1);
    await handle.kill();
    expect((await handle.wait()).code).toBe(137);
    expect(await guestCount("sleep 1001")).toBe(0);
    await expectNoStreams();
  });

  it("disposal ends a command that is flooding output", async () => {
    {
      await using handle = await sandbox().execStream("yes", ["dispose-me"]);
      expect((await handle.recv())?.eventType).toBe("started");
      expect((await handle.recv())?.eventType).toBe("stdout");
    }
    expect(await guestCount("yes dispose-me")).toBe(0);
    await expectNoStreams();
  });

  it("leaves nothing behind after an output limit (the leak bug)", async () => {
    const err = await sandbox()
      .execWithConfig({ cmd: "yes", args: ["limit-me"], maxOutputBytes: 1 << 20 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputLimitError);
    await expectNoStreams();
    expect(await guestCount("yes limit-me")).toBe(0);
  });

  it("leaves nothing behind when a client process dies mid-stream", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/stream-and-wait.ts", "stream"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", (code) => {
        reject(new Error(`child exited ${code}`));
      });
    });
    expect(line).toMatch(/^streaming pid=\d+$/);
    expect(await guestCount("yes stream-and-wait")).toBe(1);
    expect((await sandbox().debugStats()).clients).toBe(2);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    await expectNoStreams();
    expect(await guestCount("yes stream-and-wait")).toBe(0);
    expect((await sandbox().debugStats()).clients).toBe(1);
  });
});

describe("flow control", () => {
  it("streams 1 GB to a slow reader with bounded memory in the SDK and the supervisor", async () => {
    const total = 1024 * 1024 * 1024;
    const supervisorPid = (await Sandbox.get("stream")).record.supervisorPid ?? 0;
    const before = { sdk: process.memoryUsage().rss, sup: rssOf(supervisorPid) };
    let peak = { sdk: 0, sup: 0 };
    // dd, not head: busybox head -c moves about 16 MB/s under TCG by itself.
    const handle = await sandbox().execStream("dd", ["if=/dev/zero", "bs=65536", `count=${total / 65536}`]);
    const hash = createHash("sha256");
    let received = 0;
    let events = 0;
    for await (const event of handle) {
      if (event.eventType !== "stdout") continue;
      hash.update(event.data);
      received += event.data.length;
      if (++events % 256 === 0) {
        await sleep(5); // a slow reader
        peak = {
          sdk: Math.max(peak.sdk, process.memoryUsage().rss),
          sup: Math.max(peak.sup, rssOf(supervisorPid)),
        };
      }
    }
    expect(received).toBe(total);
    expect(hash.digest("hex")).toBe(zeroHash(total));
    const mib = (n: number): number => n / (1024 * 1024);
    console.log(
      `1 GB streamed: SDK rss +${mib(peak.sdk - before.sdk).toFixed(1)} MiB, supervisor rss +${mib(peak.sup - before.sup).toFixed(1)} MiB`,
    );
    expect(peak.sdk - before.sdk).toBeLessThan(96 * 1024 * 1024);
    expect(peak.sup - before.sup).toBeLessThan(64 * 1024 * 1024);
  }, 600_000);
});

describe("large and bad requests", () => {
  it("runs a command with 1 MB of arguments (carried in CONTINUE frames)", async () => {
    const args = Array.from({ length: 10 }, (_, i) => String(i).repeat(100_000));
    const out = await sandbox().exec("sh", [
      "-c",
      "n=0; for a; do n=$((n+${#a})); done; echo $n",
      "sh",
      ...args,
    ]);
    expect(out.stdout()).toBe("1000000\n");
  });

  it("rejects an environment value over the kernel's limit with a typed error", async () => {
    const err = await sandbox()
      .execWithConfig({ cmd: "true", env: { BIG: "x".repeat(1_100_000) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toBe("env.BIG");
  });
});

describe("the supervisor's protocol edge", () => {
  it("answers unknown operations with ENOTSUP and unknown fields with EINVAL, keeping the connection", async () => {
    const runDir = (await Sandbox.get("stream")).record.runDir;
    const socket = createConnection(join(runDir, "control.sock"));
    await new Promise((resolve) => socket.once("connect", resolve));
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on("data", (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    const send = (stream: number, kind: FrameKind, message: unknown): void => {
      socket.write(encodeFrame(stream, kind, Buffer.from(JSON.stringify(message))));
    };
    const reply = async (stream: number): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const i = frames.findIndex((f) => f.stream === stream && f.kind !== FrameKind.WINDOW);
        if (i >= 0)
          return JSON.parse(frames.splice(i, 1)[0]?.payload.toString() ?? "{}") as Record<string, unknown>;
        if (Date.now() > deadline) throw new Error(`no reply on stream ${stream}`);
        await sleep(20);
      }
    };
    send(0, FrameKind.HELLO, { type: "hello", minVersion: 1, maxVersion: 1, timeMs: Date.now() });
    expect((await reply(0))["features"]).toEqual(expect.arrayContaining(["exec", "exec.tty", "sup.stats"]));
    send(1, FrameKind.CONTROL, { type: "fs.teleport", path: "/" });
    expect(await reply(1)).toMatchObject({
      type: "error",
      code: "ENOTSUP",
      error: { code: "MSB_ERR_NOT_SUPPORTED" },
    });
    send(3, FrameKind.CONTROL, { type: "exec.start", argv: ["true"], maxOutputBytes: 5 });
    expect(await reply(3)).toMatchObject({ type: "error", code: "EINVAL", field: "maxOutputBytes" });
    send(5, FrameKind.CONTROL, { type: "init", hostname: "evil" });
    expect(await reply(5)).toMatchObject({ type: "error", code: "ENOTSUP" });
    send(7, FrameKind.CONTROL, { type: "sup.stats" });
    expect(await reply(7)).toMatchObject({ type: "sup.stats.result", clients: 2 });
    send(0, FrameKind.CONTROL, { type: "ping", id: 9 });
    expect(await reply(0)).toEqual({ type: "pong", id: 9 });
    socket.destroy();
  });
});

describe("terminals", () => {
  it("runs a command on a pseudo-terminal with the size it is given, and resizes it", async () => {
    const handle = await sandbox().execStream("sh", ["-c", "tty; stty size; read x; stty size"], {
      tty: { rows: 30, cols: 100 },
      stdin: "pipe",
    });
    const lines = createLineReader(handle);
    expect(await lines.next()).toMatch(/^\/dev\/pts\/\d+$/);
    expect(await lines.next()).toBe("30 100");
    await handle.resize(40, 120);
    const sink = await handle.takeStdin();
    await sink?.write("\n");
    expect(await lines.next()).toBe(""); // the terminal echoes the newline
    expect(await lines.next()).toBe("40 120");
    expect((await handle.wait()).code).toBe(0);
  });

  it("merges stdout and stderr as a terminal does, and ends input with ^D", async () => {
    const handle = await sandbox().execStream("sh", ["-c", "echo out; echo err >&2; cat"], {
      tty: true,
      stdin: "pipe",
    });
    // Type only once the program has printed: the terminal echoes input as it arrives, which could otherwise
    // land between "out" and "err" on the screen.
    let before = "";
    while (!/err\r?\n/.test(before)) {
      const event = await handle.recv();
      if (event === null) throw new Error(`the command ended early: ${before}`);
      if (event.eventType === "stdout") before += event.data.toString();
    }
    const sink = await handle.takeStdin();
    await sink?.write("typed\n");
    await sink?.close();
    const out = await handle.collect();
    expect(out.stderr()).toBe("");
    const screen = (before + out.stdout()).replace(/\r/g, "");
    expect(screen).toContain("out\nerr\n");
    expect(screen.split("typed\n")).toHaveLength(3); // the terminal's echo, then cat's copy
    expect(out.code).toBe(0);
  });
});

/** Reads a handle's stdout line by line (CR stripped, as a terminal adds them). */
function createLineReader(handle: { recv(): Promise<ExecEvent | null> }): { next(): Promise<string> } {
  let buffered = "";
  return {
    async next(): Promise<string> {
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          const line = buffered.slice(0, nl).replace(/\r$/, "");
          buffered = buffered.slice(nl + 1);
          return line;
        }
        const event = await handle.recv();
        if (event === null) throw new Error(`stream ended; pending ${JSON.stringify(buffered)}`);
        if (event.eventType === "stdout") buffered += event.data.toString();
      }
    },
  };
}

function zeroHash(bytes: number): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(1 << 20);
  for (let done = 0; done < bytes; done += block.length)
    hash.update(block.subarray(0, Math.min(block.length, bytes - done)));
  return hash.digest("hex");
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}
