/** The `msb` CLI against real sandboxes: docker-like verbs, output and exit codes. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../fixtures/artifacts.js";
import { msb } from "../fixtures/msb-cli.js";
import type { MsbRun } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv({}, 600_000);

/** Runs a command with `input` on its stdin and collects its output. */
function spawnCollect(file: string, args: string[], input: string): Promise<MsbRun> {
  const child = spawn(file, args, { cwd: repoRoot, env: process.env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("msb", () => {
  it("run prints the command's output and exits with its code", async () => {
    const hello = await msb(
      "run",
      "--rm",
      "alpine:latest",
      "--",
      "sh",
      "-c",
      "echo hello; echo oops >&2; exit 3",
    );
    expect(hello.stdout).toBe("hello\n");
    expect(hello.stderr).toContain("oops\n");
    expect(hello.code).toBe(3);
    expect((await msb("ls", "-q")).stdout).toBe(""); // --rm removed it
  });

  it("run names a missing command with exit code 127", async () => {
    const out = await msb("run", "--rm", "--name", "nocmd", "alpine:latest", "--", "no-such-command");
    expect(out.code).toBe(127);
    expect(out.stderr).toMatch(/command not found: no-such-command/);
  });

  it("create, exec, ls, stop and rm a background sandbox", async () => {
    const created = await msb("create", "--name", "bg", "-e", "WHO=cli", "-l", "tier=test", "alpine:latest");
    expect(created).toMatchObject({ code: 0, stdout: "bg\n" });
    const exec = await msb("exec", "bg", "--", "sh", "-c", 'echo "$WHO $(hostname)"');
    expect(exec).toMatchObject({ code: 0, stdout: "cli bg\n" });
    const ls = await msb("ls");
    expect(ls.stdout).toMatch(/^NAME\s+IMAGE\s+STATUS\s+CREATED\n/);
    expect(ls.stdout).toMatch(/bg\s+alpine:latest\s+running/);
    expect((await msb("stop", "bg")).code).toBe(0);
    expect((await msb("ls")).stdout).toMatch(/bg\s+alpine:latest\s+stopped/);
    expect(await msb("start", "bg")).toMatchObject({ code: 0, stdout: "bg\n" });
    expect((await msb("exec", "bg", "--", "sh", "-c", 'echo "$WHO"')).stdout).toBe("cli\n");
    expect((await msb("stop", "bg")).code).toBe(0);
    expect((await msb("rm", "bg")).code).toBe(0);
    expect((await msb("ls", "-q")).stdout).toBe("");
  });

  it("exec -i forwards stdin; shell is a real terminal (typed input, ^C, exit code)", async () => {
    expect((await msb("create", "--name", "term", "alpine:latest")).code).toBe(0);
    const piped = await spawnCollect(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/msb.ts"), "exec", "-i", "term", "--", "wc", "-c"],
      "12345",
    );
    expect(piped).toMatchObject({ code: 0, stdout: "5\n" });
    // `script` gives msb a real pseudo-terminal on the host, as a user's terminal would.
    const msbCommand = `${process.execPath} --import tsx ${join(repoRoot, "src/cli/msb.ts")} shell term`;
    const child = spawn("script", ["-qfec", msbCommand, "/dev/null"], {
      cwd: repoRoot,
      env: process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    let answered = 0;
    child.stdout.on("data", (d: Buffer) => {
      const text = d.toString();
      screen += text.replaceAll("\x1b[6n", "");
      // busybox's line editor asks the terminal where the cursor is (and eats input until the answer);
      // answer as a terminal emulator would.
      if (text.includes("\x1b[6n")) {
        child.stdin.write("\x1b[1;5R");
        answered++;
      }
    });
    const waitFor = async (pattern: RegExp, from: number): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (!pattern.test(screen.slice(from))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen: ${screen}`);
        await sleep(50);
      }
    };
    /** Waits for a fresh prompt whose cursor query was answered, then types `line`. */
    const type = async (line: string, from: number, queriesBefore: number): Promise<void> => {
      await waitFor(/# $/, from);
      while (answered <= queriesBefore) await sleep(20);
      await sleep(100);
      child.stdin.write(line);
    };
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    await type("tty; echo $((6*7))\r", 0, 0);
    let mark = screen.length;
    let queries = answered;
    await waitFor(/42\r*\n.*# $/s, mark);
    expect(screen.slice(mark)).toMatch(/\/dev\/pts\/\d+/);
    await type("sleep 100\r", mark, queries);
    mark = screen.length;
    queries = answered;
    await sleep(1000);
    child.stdin.write("\x03"); // Ctrl-C reaches the guest's terminal and interrupts sleep
    await type("echo after-$?; exit 5\r", mark, queries);
    expect(await exited).toBe(5);
    expect(screen.slice(mark)).toContain("after-130");
    expect((await msb("rm", "-f", "term")).code).toBe(0);
  });

  it("pull shows progress, images lists the cache", async () => {
    const pull = await msb("pull", `${env().registry.host}/busybox-zstd:latest`);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/busybox-zstd:latest@sha256:[0-9a-f]{64}/);
    expect(pull.stderr).toMatch(/pulling .*busybox-zstd:latest/);
    const images = await msb("images");
    expect(images.stdout).toMatch(/^REFERENCE\s+DIGEST\s+PULLED\s+SIZE\n/);
    expect(images.stdout).toContain("busybox-zstd:latest");
  });

  it("fails like docker on bad input", async () => {
    const missing = await msb("rm", "nobody-here");
    expect(missing.code).toBe(1); // docker rm's code for a name it could not remove
    expect(missing.stderr).toMatch(/no sandbox named "nobody-here"/);
    const bad = await msb("run", "--cpus", "0", "alpine:latest", "--", "true");
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid cpus/);
  });
});
