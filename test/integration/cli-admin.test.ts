/**
 * The administrative verbs of `msb` against real sandboxes: doctor, inspect, ls --filter, rm and rmi with several
 * names, prune (with its prompt and abandoned scratch files); and the memory limits of a sandbox (the measured
 * minimum, and QEMU's own words when it cannot allocate the guest's memory).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { msbPaths } from "../../src/config/paths.js";
import { InvalidConfigError, PatchFailedError, VmError } from "../../src/errors.js";
import { OWNER_FILE } from "../../src/os/owned-dir.js";
import { scratchPath } from "../../src/os/scratch-name.js";
import { Patch } from "../../src/storage/patch.js";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { runtimeArtifacts } from "../../src/setup/index.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { startMsb } from "../fixtures/msb-cli.js";
import type { MsbRun } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv({}, 600_000);

const names = (run: MsbRun): string[] => run.stdout.split("\n").filter((l) => l !== "");

describe("msb admin verbs", () => {
  it("doctor reports the accelerator and why, versions, set-up state and free space", async () => {
    const json = await msb(["doctor", "--json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      accelerator: { using: string; why: string; kvm: { usable: boolean; reason: string } };
      versions: {
        qemu: { version: string } | null;
        kernel: string | null;
        kernelFlavor: string | null;
        node: string;
      };
      setup: { installed: boolean };
      state: { home: string; freeBytes: number };
      findings: { severity: string }[];
    };
    expect(report.ok).toBe(true);
    expect(report.setup.installed).toBe(true);
    expect(report.accelerator.using).toBe(
      existsSync("/dev/kvm") && report.accelerator.kvm.usable ? "kvm" : "tcg",
    );
    expect(report.accelerator.kvm.reason).toMatch(/\/dev\/kvm/);
    expect(report.versions.qemu?.version).toMatch(/^\d+\.\d+/);
    expect(report.versions.kernel).toMatch(/^\d+\.\d+/);
    expect(report.versions.kernelFlavor).toBe(runtimeArtifacts().kernelFlavor);
    expect(report.versions.node).toBe(process.version);
    expect(report.state.home).toBe(env().home);
    expect(report.state.freeBytes).toBeGreaterThan(0);
    const text = await msb(["doctor"]);
    expect(text.stdout).toMatch(/^accelerator: +(kvm|tcg) \(/m);
    expect(text.stdout).toMatch(/^guest kernel: +\S+ \((microvm|debian)\)$/m);
    const forced = spawnSync(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/msb.ts"), "doctor"],
      {
        cwd: repoRoot,
        env: { ...process.env, MSB_ACCEL: "warp" },
        encoding: "utf8",
      },
    );
    expect(forced.status).toBe(1);
    expect(forced.stdout).toMatch(/error: .*MSB_ACCEL/);
    // A state directory too long for the sandboxes' sockets: what create and start refuse, doctor reports.
    const deep = join(env().home, "d".repeat(100));
    const tooLong = spawnSync(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/msb.ts"), "doctor"],
      {
        cwd: repoRoot,
        env: { ...process.env, MSB_HOME: deep },
        encoding: "utf8",
      },
    );
    expect(tooLong.status).toBe(1);
    expect(tooLong.stdout).toMatch(/^error: .* is too long for the sandboxes' unix sockets/m);
    expect(tooLong.stdout).toMatch(/^ {2}fix: use an MSB_HOME of at most \d+ bytes/m);
  });

  it("ls --filter, inspect, rm and rmi with several names, prune", async () => {
    const home = env().home;
    expect(
      (await msb(["create", "--name", "web1", "-l", "tier=web", "-l", "team=x", "alpine:latest"])).code,
    ).toBe(0);
    expect((await msb(["create", "--name", "db1", "-l", "tier=db", "alpine:latest"])).code).toBe(0);
    expect((await msb(["stop", "db1"])).code).toBe(0);

    expect(names(await msb(["ls", "-q", "--filter", "label=tier=web"]))).toEqual(["web1"]);
    expect(names(await msb(["ls", "-q", "--filter", "label=tier"]))).toEqual(["web1", "db1"]);
    expect(names(await msb(["ls", "-q", "-f", "label=tier=web", "-f", "label=team=x"]))).toEqual(["web1"]);
    expect(names(await msb(["ls", "-q", "--filter", "label=team=y"]))).toEqual([]);
    expect((await Sandbox.list({ labels: { tier: "db" } })).map((s) => s.name)).toEqual(["db1"]);
    const asJson = (run: MsbRun): string[] =>
      (JSON.parse(run.stdout) as { name: string }[]).map((s) => s.name);
    // --format json (as the original CLI spells it) and --json are the same.
    expect(asJson(await msb(["ls", "--format", "json", "-f", "label=tier=db"]))).toEqual(["db1"]);
    expect(asJson(await msb(["ls", "--json", "-f", "label=tier=db"]))).toEqual(["db1"]);
    const badFormat = await msb(["ls", "--format", "yaml"]);
    expect(badFormat.code).toBe(125);
    expect(badFormat.stderr).toMatch(/--format must be table or json, not "yaml"/);
    const badFilter = await msb(["ls", "--filter", "status=running"]);
    expect(badFilter.code).toBe(125);
    expect(badFilter.stderr).toMatch(/invalid filter/);

    const inspect = await msb(["inspect", "web1", "nosuch", "db1"]);
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toMatch(/no sandbox named "nosuch"/);
    const [web, db] = JSON.parse(inspect.stdout) as {
      name: string;
      status: string;
      exitReason: string | null;
      imageDigest: string;
      labels: Record<string, string>;
      config: Record<string, unknown>;
      processes: { supervisor: { pid: number; startTime: number } | null; qemu: { pid: number } | null };
      paths: { rootDisk: string; runDir: string; supervisorLog: string; consoleLog: string };
      createdAt: string;
    }[];
    expect(web).toMatchObject({ name: "web1", status: "running", labels: { tier: "web", team: "x" } });
    expect(web?.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(web?.config).toMatchObject({ name: "web1", image: "alpine:latest" });
    expect(web?.processes.supervisor?.pid).toBeGreaterThan(0);
    expect(web?.processes.qemu?.pid).toBeGreaterThan(0);
    expect(existsSync(web?.paths.rootDisk ?? "")).toBe(true);
    expect(existsSync(web?.paths.supervisorLog ?? "")).toBe(true);
    expect(Date.parse(web?.createdAt ?? "")).toBeGreaterThan(0);
    expect(db).toMatchObject({ name: "db1", status: "stopped", exitReason: expect.any(String) as string });

    // rm: every name is attempted; a failure is reported and makes the exit code 1, the others still happen.
    const refused = await msb(["rm", "nosuch", "web1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no sandbox named "nosuch"/);
    expect(refused.stderr).toMatch(/web1 is running/);
    const forced = await msb(["rm", "-f", "nosuch", "web1"]);
    expect(forced.code).toBe(1);
    expect(forced.stdout).toBe("web1\n");
    expect(names(await msb(["ls", "-q"]))).toEqual(["db1"]);

    // prune: asks first (no removes nothing); -f removes stopped sandboxes, what failed creates left and abandoned
    // scratch, not live scratch nor a live sandbox. A failed create keeps its logs (its error names them), no row.
    const failed = await Sandbox.create({
      name: "ghost",
      image: "alpine:latest",
      patches: [Patch.text("/etc/passwd", "root::0:0::/:/bin/sh\n")],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(PatchFailedError);
    const ghostLogs = join(msbPaths(home).sandboxesDir, "ghost", "logs");
    expect(readdirSync(ghostLogs).length).toBeGreaterThan(0);
    expect((await msb(["create", "--name", "live1", "alpine:latest"])).code).toBe(0);
    const tmp = msbPaths(home).tmpDir;
    mkdirSync(tmp, { recursive: true });
    const dead = Number(
      spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
    );
    const abandoned = `rootfs-test.${dead}-1.0123456789ab.tmp`;
    mkdirSync(join(tmp, abandoned));
    writeFileSync(join(tmp, abandoned, "rootfs.ext4"), Buffer.alloc(1 << 20, 1));
    const live = basename(scratchPath(tmp, "blob-live")); // owned by this (running) test process
    writeFileSync(join(tmp, live), "partial");
    // The run directory of a VM whose process died (a template build, a warm spare): its owner file says so.
    const deadRun = join(msbPaths(home).runRoot, "0123456789ab");
    mkdirSync(deadRun, { recursive: true });
    writeFileSync(
      join(deadRun, OWNER_FILE),
      JSON.stringify({ pid: dead, startTime: 1, purpose: "spare-vm" }),
    );
    const declined = await msb(["prune"], "n\n");
    expect(declined.code).toBe(0);
    expect(declined.stderr).toMatch(/Continue\? \[y\/N\]/);
    expect(names(await msb(["ls", "-q"])).sort()).toEqual(["db1", "live1"]);
    expect(existsSync(ghostLogs)).toBe(true);
    const pruned = await msb(["prune", "-f"]);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/Deleted sandboxes:\ndb1\n/);
    expect(pruned.stdout).toMatch(/Deleted logs of failed creates:\nghost\n/);
    expect(existsSync(join(msbPaths(home).sandboxesDir, "ghost"))).toBe(false);
    expect(names(await msb(["ls", "-q"]))).toEqual(["live1"]);
    expect(existsSync(join(msbPaths(home).sandboxesDir, "live1", "root.qcow2"))).toBe(true);
    expect((await msb(["rm", "-f", "live1"])).code).toBe(0);
    expect(pruned.stdout).toContain(abandoned);
    expect(pruned.stdout).toMatch(/Total reclaimed space: \d/);
    expect(names(await msb(["ls", "-q"]))).toEqual([]);
    expect(readdirSync(tmp)).toContain(live);
    expect(readdirSync(tmp)).not.toContain(abandoned);
    expect(pruned.stdout).toContain(deadRun);
    expect(existsSync(deadRun)).toBe(false);

    // rmi takes several names the same way.
    const rmi = await msb(["rmi", "nosuch:1", "alpine:latest"]);
    expect(rmi.code).toBe(1);
    expect(rmi.stderr).toMatch(/nosuch:1/);
    expect(rmi.stdout).toMatch(/untagged: docker\.io\/library\/alpine:latest/);
    expect((await msb(["images"])).stdout).not.toContain("alpine");
  });
});

describe("sandbox memory limits", () => {
  it("refuses less than the measured minimum, naming the field and the minimum", async () => {
    const err = await Sandbox.create({ name: "tiny", image: "alpine:latest", memoryMib: 64 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toBe("memoryMib");
    expect((err as Error).message).toMatch(/at least 96 MiB/);
  });

  it("reports QEMU's own failure when it cannot allocate the guest's memory", async () => {
    const err = await Sandbox.create({ name: "huge", image: "alpine:latest", memoryMib: 1024 * 1024 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VmError);
    expect((err as Error).message).toMatch(/cannot set up guest memory/);
    expect((err as Error).message).not.toMatch(/ECONNRESET/);
    expect((err as VmError).qemuStderr).toMatch(/cannot set up guest memory/);
    expect((await Sandbox.list()).map((s) => s.name)).not.toContain("huge");
    // The logs the error names outlive the rolled-back create, and say why.
    const logDir = /the logs in (\S+)/.exec((err as Error).message)?.[1]?.replace(/[).,;]+$/, "");
    expect(logDir).toBeDefined();
    expect(readdirSync(logDir ?? "")).toContain("supervisor.log");
    expect(readFileSync(join(logDir ?? "", "supervisor.log"), "utf8")).toMatch(/boot failed/);
  });
});

function msb(args: readonly string[], input = ""): Promise<MsbRun> {
  return startMsb(args, { input }).done;
}
