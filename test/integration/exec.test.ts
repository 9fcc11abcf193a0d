import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CommandNotFoundError, InvalidConfigError } from "../../src/errors.js";
import { useBootedVm } from "../fixtures/vm.js";

const sh = (script: string) => ({ argv: ["sh", "-c", script] });

describe("exec in a booted microVM", () => {
  const vm = useBootedVm("exec");

  it("runs echo and returns its output", async () => {
    const out = await vm().exec({ argv: ["echo", "hello", "world"] });
    expect(out).toMatchObject({ code: 0, signal: 0, timedOut: false });
    expect(out.stdout.toString()).toBe("hello world\n");
    expect(out.stderr.length).toBe(0);
  });

  it("reports exit codes", async () => {
    for (const code of [0, 1, 42, 255]) {
      expect((await vm().exec(sh(`exit ${code}`))).code).toBe(code);
    }
  });

  it("reports death by signal as 128 + n", async () => {
    const out = await vm().exec(sh("kill -TERM $$"));
    expect(out).toMatchObject({ code: 143, signal: 15 });
  });

  it("keeps stderr separate from stdout", async () => {
    const out = await vm().exec(sh("echo to-out; echo to-err >&2; echo more-out"));
    expect(out.stdout.toString()).toBe("to-out\nmore-out\n");
    expect(out.stderr.toString()).toBe("to-err\n");
  });

  it("passes env and cwd", async () => {
    const out = await vm().exec({
      ...sh('echo "$GREETING $PWD"'),
      env: { GREETING: "hi there" },
      cwd: "/etc",
    });
    expect(out.stdout.toString()).toBe("hi there /etc\n");
  });

  it("runs as another user", async () => {
    const byName = await vm().exec({ argv: ["id"], user: "alice" });
    expect(byName.stdout.toString()).toMatch(/^uid=1000\(alice\) gid=1000\(alice\) groups=.*50\(staff\)/);
    const byUid = await vm().exec({ argv: ["id", "-u"], user: "65534:65534" });
    expect(byUid.stdout.toString()).toBe("65534\n");
    const home = await vm().exec({ ...sh("echo $HOME; pwd"), user: "alice" });
    expect(home.stdout.toString()).toBe("/home/alice\n/home/alice\n");
  });

  it("feeds stdin", async () => {
    const out = await vm().exec({ argv: ["wc", "-c"], stdin: Buffer.alloc(300_000, 0x61) });
    expect(out.stdout.toString().trim()).toBe("300000");
  });

  it("gives a clear error for a command that does not exist", async () => {
    const err = await vm()
      .exec({ argv: ["no-such-command"] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNotFoundError);
    expect((err as CommandNotFoundError).code).toBe("MSB_ERR_COMMAND_NOT_FOUND");
    expect((err as Error).message).toMatch(/no-such-command/);
  });

  it("gives a clear error for a missing command path, which execve itself reports", async () => {
    const err = await vm()
      .exec({ argv: ["/no/such/bin"] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandNotFoundError);
    expect((err as Error).message).toMatch(/\/no\/such\/bin/);
  });

  it("gives the command blocking standard files and none of the agent's other files", async () => {
    const O_NONBLOCK = 0o4000;
    const flagsOf = (fdinfo: string): number =>
      Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(fdinfo)?.[1] ?? "x", 8);
    for (const stdin of [undefined, Buffer.from("input")]) {
      for (const fd of [0, 1, 2]) {
        const out = await vm().exec({
          argv: ["cat", `/proc/self/fdinfo/${fd}`],
          ...(stdin ? { stdin } : {}),
        });
        const flags = flagsOf(out.stdout.toString());
        expect(flags, `fd ${fd}, stdin ${stdin ? "piped" : "null"}`).not.toBeNaN();
        expect(flags & O_NONBLOCK, `fd ${fd}, stdin ${stdin ? "piped" : "null"}`).toBe(0);
      }
    }
    // 0-2, and the directory `ls` itself reads.
    const fds = (await vm().exec({ argv: ["ls", "/proc/self/fd"] })).stdout
      .toString()
      .split(/\s+/)
      .filter(Boolean);
    expect(fds.map(Number).every((fd) => fd <= 3)).toBe(true);
  });

  it("gives a clear error for a bad cwd, an unknown user and an empty argv", async () => {
    await expect(vm().exec({ argv: ["true"], cwd: "/nope" })).rejects.toThrow(/\/nope/);
    await expect(vm().exec({ argv: ["true"], user: "mallory" })).rejects.toMatchObject({
      agentCode: "EUSER",
    });
    await expect(vm().exec({ argv: [] })).rejects.toBeInstanceOf(InvalidConfigError);
  });

  it("runs 20 execs concurrently", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => vm().exec(sh(`sleep 0.$(( ${i} % 3 )); echo job-${i}`))),
    );
    results.forEach((out, i) => {
      expect(out.code).toBe(0);
      expect(out.stdout.toString()).toBe(`job-${i}\n`);
    });
  });

  it("returns binary output with all 256 byte values intact", async () => {
    const script = 'i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done';
    const out = await vm().exec(sh(script));
    expect([...out.stdout]).toEqual([...Array(256).keys()]);
  });

  it("returns 10 MB of output", async () => {
    const out = await vm().exec(sh("head -c 10485760 /dev/zero | tr '\\0' 'x'; echo -n end >&2"));
    expect(out.stdout.length).toBe(10 * 1024 * 1024);
    expect(createHash("sha256").update(out.stdout).digest("hex")).toBe(
      createHash("sha256")
        .update(Buffer.alloc(10 * 1024 * 1024, "x"))
        .digest("hex"),
    );
    expect(out.stderr.toString()).toBe("end");
  });

  it("kills a command at its timeout and returns", async () => {
    const started = Date.now();
    const out = await vm().exec({ ...sh("echo started; sleep 30; echo never"), timeoutMs: 1500 });
    const elapsed = Date.now() - started;
    expect(out).toMatchObject({ timedOut: true, code: 137, signal: 9 });
    expect(out.stdout.toString()).toBe("started\n");
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(15_000);
    // The VM is still fine afterwards.
    expect((await vm().exec({ argv: ["true"] })).code).toBe(0);
  });

  it("does not wait for background children that keep the output open, and lets them run", async () => {
    const started = Date.now();
    const out = await vm().exec(sh("sleep 61 & echo parent-done"));
    expect(out.stdout.toString()).toBe("parent-done\n");
    expect(Date.now() - started).toBeLessThan(15_000);
    const ps = await vm().exec(sh("ps -o args | grep -c '^sleep 61'"));
    expect(ps.stdout.toString().trim()).toBe("1");
  });

  it("runs on the root disk, writable, with the hostname set", async () => {
    const out = await vm().exec(
      sh("hostname; cat /etc/hostname; echo data > /root/f && cat /root/f; mount | grep ' / '"),
    );
    const lines = out.stdout.toString().split("\n");
    expect(lines[0]).toBe("microsandbox");
    expect(lines[1]).toBe("fixture");
    expect(lines[2]).toBe("data");
    expect(lines[3]).toMatch(/ext4/);
  });
});
