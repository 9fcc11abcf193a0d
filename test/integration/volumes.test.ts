/**
 * Volumes in real VMs: the seed README's example verbatim; a directory volume used by two sandboxes at the same
 * time and a disk volume read after its writer stopped; the quota of both kinds (ENOSPC in the guest, earlier
 * data intact, usedBytes right); readonly named and bind mounts (EROFS for guest root); a bind mount both ways;
 * tmpfs size and readonly; a second writer of a disk volume; the volume errors. Few VMs, several checks each.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  Mount,
  Sandbox,
  Volume,
  VolumeAlreadyExistsError,
  VolumeInUseError,
  VolumeNotFoundError,
} from "../../src/index.js";
import { msbPaths } from "../../src/config/paths.js";
import { allowedCpus } from "../../src/os/cpu-affinity.js";
import { hostAccelerator } from "../../src/vm/accel.js";
import { Store } from "../../src/store/store.js";
import { msb } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
const MIB = 1024 * 1024;
const hostDir = mkdtempSync(join(tmpdir(), "msb-bind-"));
const hostRo = mkdtempSync(join(tmpdir(), "msb-bind-ro-"));

afterAll(() => {
  // Sandboxes and volumes go with the environment (test/fixtures/sandbox-env.ts).
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(hostRo, { recursive: true, force: true });
});

/** Runs `script` in `sb`; its stdout and stderr together, and the exit code. */
async function sh(sb: Sandbox, script: string): Promise<{ out: string; code: number }> {
  const result = await sb.shell(script);
  return { out: result.stdout() + result.stderr(), code: result.code };
}

describe("the seed README's example", () => {
  it("runs verbatim", async () => {
    const logged: string[] = [];
    const log = (line: string): void => {
      logged.push(line);
    };
    const console = { log };
    // ---- from the seed README, "### Named Volumes" ----
    // Create a 100 MiB named volume.
    const data = await Volume.create({ name: "my-data", quotaMib: 100 });

    // Mount it in a sandbox.
    const writer = await Sandbox.create({
      name: "writer",
      image: "alpine:latest",
      volumes: { "/data": Mount.named(data.name) },
      replace: true,
    });

    await writer.shell("echo 'hello' > /data/message.txt");
    await writer.stopAndWait();

    // Mount the same volume in another sandbox (read-only).
    const reader = await Sandbox.create({
      name: "reader",
      image: "alpine:latest",
      volumes: { "/data": Mount.named(data.name, { readonly: true }) },
      replace: true,
    });

    const output = await reader.shell("cat /data/message.txt");
    console.log(output.stdout()); // "hello\n"

    await reader.stopAndWait();

    // Cleanup.
    await Sandbox.remove("writer");
    await Sandbox.remove("reader");
    await Volume.remove("my-data");
    // ---- end of the example ----
    expect(logged).toEqual(["hello\n"]);
    expect(existsSync(data.path)).toBe(false); // removed with the volume
  });
});

describe("mounts in a running sandbox", () => {
  it("directory and disk volumes, quotas, bind both ways, readonly, tmpfs, a second writer, errors", async () => {
    const shared = await Volume.create({ name: "shared", quotaMib: 32 });
    await Volume.create({ name: "blk", kind: "disk", quotaMib: 32 });
    await expect(Volume.create({ name: "blk" })).rejects.toBeInstanceOf(VolumeAlreadyExistsError);
    writeFileSync(join(hostRo, "given.txt"), "from the host\n");

    const alpha = await Sandbox.create({
      name: "alpha",
      image: "alpine:latest",
      volumes: {
        "/shared": Mount.named("shared"),
        "/disk": Mount.named("blk"),
        "/bind": Mount.bind(hostDir),
        "/bindro": Mount.bind(hostRo, { readonly: true }),
        "/scratch": Mount.tmpfs({ sizeMib: 8 }),
        "/rotmp": Mount.tmpfs({ readonly: true }),
      },
    });

    // Quota of a directory volume: 20 MiB fits, 20 more do not; the first file is intact.
    let r = await sh(
      alpha,
      "dd if=/dev/urandom of=/shared/first bs=1M count=20 && sync && md5sum /shared/first",
    );
    expect(r.code, r.out).toBe(0);
    const sharedSum = /^([0-9a-f]{32})/m.exec(r.out)?.[1] ?? "no checksum";
    expect(sharedSum).toMatch(/^[0-9a-f]{32}$/);
    r = await sh(
      alpha,
      "dd if=/dev/zero of=/shared/second bs=1M count=20; echo rc=$?; sync; md5sum /shared/first",
    );
    expect(r.out).toMatch(/No space left on device/);
    expect(r.out).toMatch(/rc=1/);
    expect(r.out).toContain(sharedSum);
    await sh(alpha, "rm -f /shared/second && sync");
    const sharedUsed = (await Volume.get("shared")).usedBytes;
    expect(sharedUsed).toBeGreaterThanOrEqual(20 * MIB);
    expect(sharedUsed).toBeLessThan(21 * MIB);

    // Quota of a disk volume, the same way.
    r = await sh(alpha, "dd if=/dev/urandom of=/disk/first bs=1M count=10 && sync && md5sum /disk/first");
    expect(r.code, r.out).toBe(0);
    const diskSum = /^([0-9a-f]{32})/m.exec(r.out)?.[1] ?? "no checksum";
    expect(diskSum).toMatch(/^[0-9a-f]{32}$/);
    r = await sh(
      alpha,
      "dd if=/dev/zero of=/disk/second bs=1M count=40; echo rc=$?; sync; md5sum /disk/first",
    );
    expect(r.out).toMatch(/No space left on device/);
    expect(r.out).toContain(diskSum);
    await sh(alpha, "rm -f /disk/second && sync");

    // Bind mounts: both ways; readonly refuses guest root.
    writeFileSync(join(hostDir, "from-host.txt"), "host wrote this\n");
    r = await sh(alpha, "cat /bind/from-host.txt && echo guest > /bind/from-guest.txt && sync");
    expect(r.out).toContain("host wrote this");
    expect(readFileSync(join(hostDir, "from-guest.txt"), "utf8")).toBe("guest\n");
    // Read-only is enforced on the host: guest root remounting it read-write does not help.
    r = await sh(alpha, "cat /bindro/given.txt; mount -o remount,rw /bindro; touch /bindro/x; echo rc=$?");
    expect(r.out).toContain("from the host");
    expect(r.out).toMatch(/Read-only file system/);
    expect(r.out).toMatch(/rc=1/);
    expect(existsSync(join(hostRo, "x"))).toBe(false);

    // tmpfs: bounded by sizeMib; readonly honoured.
    r = await sh(alpha, "dd if=/dev/zero of=/scratch/f bs=1M count=16; echo rc=$?; df -k /scratch | tail -1");
    expect(r.out).toMatch(/No space left on device/);
    expect(r.out).toMatch(/\s8192\s/);
    r = await sh(alpha, "touch /rotmp/x; echo rc=$?");
    expect(r.out).toMatch(/Read-only file system/);

    // A second writer of the disk, and a reader while it is written: refused, naming the holder.
    const writer2 = await Sandbox.create({
      name: "second",
      image: "alpine:latest",
      volumes: { "/disk": Mount.named("blk") },
    }).catch((e: unknown) => e);
    expect(writer2).toBeInstanceOf(VolumeInUseError);
    expect((writer2 as Error).message).toMatch(/one writer at a time.*"alpha"/);
    const second = await Sandbox.create({
      name: "second",
      image: "alpine:latest",
      volumes: { "/disk": Mount.named("blk", { readonly: true }) },
    }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(VolumeInUseError);
    expect(second).toMatchObject({ volume: "blk", holders: ["alpha"] });
    await expect(
      Sandbox.create({ name: "ghost", image: "alpine:latest", volumes: { "/v": Mount.named("nope") } }),
    ).rejects.toBeInstanceOf(VolumeNotFoundError);
    expect((await Sandbox.list()).map((s) => s.name).sort()).toEqual(["alpha"]); // failed creates left nothing

    // The directory volume at the same time from another sandbox; readonly named mount refuses writes.
    const beta = await Sandbox.create({
      name: "beta",
      image: "alpine:latest",
      volumes: { "/shared": Mount.named("shared"), "/view": Mount.named("shared", { readonly: true }) },
    });
    r = await sh(
      beta,
      "md5sum /shared/first && echo beta > /shared/from-beta && sync; mount -o remount,rw /view; touch /view/x; echo rc=$?",
    );
    expect(r.out).toContain(sharedSum);
    expect(r.out).toMatch(/Read-only file system/);
    r = await sh(alpha, "cat /shared/from-beta");
    expect(r.out).toBe("beta\n");

    // Under TCG a one-vCPU VM with host folders runs on one host CPU (with its virtiofsds), the next on another.
    const hostCpus = allowedCpus(readFileSync("/proc/self/status", "utf8")) ?? [];
    const qemuCpus = async (name: string): Promise<number[] | undefined> =>
      allowedCpus(readFileSync(`/proc/${(await Sandbox.get(name)).record.qemuPid ?? 0}/status`, "utf8"));
    const [alphaCpus, betaCpus] = [await qemuCpus("alpha"), await qemuCpus("beta")];
    if (hostAccelerator() === "tcg" && hostCpus.length >= 2) {
      expect(alphaCpus).toHaveLength(1);
      expect(betaCpus).toHaveLength(1);
      expect(alphaCpus).not.toEqual(betaCpus);
    } else {
      expect(alphaCpus).toEqual(hostCpus);
    }

    // Removing a volume in use names the sandboxes.
    const busy = await Volume.remove("shared").catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(VolumeInUseError);
    expect((busy as VolumeInUseError).holders).toEqual(["alpha", "beta"]);

    // The disk, read by another sandbox after its writer stopped; usedBytes from the unmounted image.
    await beta.stopAndWait();
    await alpha.stopAndWait();
    const diskUsed = (await Volume.get("blk")).usedBytes;
    expect(diskUsed).toBeGreaterThanOrEqual(10 * MIB);
    expect(diskUsed).toBeLessThan(11 * MIB);
    const gamma = await Sandbox.create({
      name: "gamma",
      image: "alpine:latest",
      volumes: { "/disk": Mount.named("blk", { readonly: true }) },
    });
    r = await sh(gamma, "md5sum /disk/first; mount -o remount,rw /disk; touch /disk/x; echo rc=$?");
    expect(r.out).toContain(diskSum);
    expect(r.out).toMatch(/Read-only file system/);
    await gamma.stopAndWait();

    // Started again (from its stored config: bind paths absolute, volumes looked up again), everything is there.
    const again = await Sandbox.start("alpha");
    r = await sh(again, "md5sum /shared/first /disk/first; cat /bind/from-guest.txt /shared/from-beta");
    expect(r.out).toContain(sharedSum);
    expect(r.out).toContain(diskSum);
    expect(r.out).toContain("guest\nbeta\n");
    await again.stopAndWait();
    expect(readFileSync(join(shared.path, "from-beta"), "utf8")).toBe("beta\n"); // and on the host

    // A volume gone by the next start (its row lost, as after restoring an old database): VolumeNotFoundError,
    // and the start leaves the sandbox crashed with the reason.
    const store = Store.open({ path: msbPaths(env().home).database });
    try {
      store.volumes.delete("blk");
    } finally {
      store.close();
    }
    await expect(Sandbox.start("alpha")).rejects.toBeInstanceOf(VolumeNotFoundError);
    const after = await Sandbox.get("alpha");
    expect(after.status).toBe("crashed");
    expect(after.exitReason).toMatch(/no volume named "blk"/);
  });
});

describe("msb run -v and --tmpfs", () => {
  it("mount a named volume (created when missing), a host directory read-only and a tmpfs", async () => {
    writeFileSync(join(hostRo, "cli.txt"), "cli input\n");
    const script = [
      "echo kept > /data/kept.txt",
      "cat /src/cli.txt",
      "touch /src/nope 2>&1",
      "df -k /scratch | tail -1",
    ].join("; ");
    const run = await msb(
      "run", "--rm", "--name", "cli-vol", "-v", "cli-data:/data", "-v", `${hostRo}:/src:ro`,
      "--tmpfs", "/scratch:size=4m", "alpine:latest", "--", "sh", "-c", script,
    ); // prettier-ignore
    expect(run.stderr).not.toMatch(/msb:/);
    expect(run.stdout).toContain("cli input");
    expect(run.stdout).toMatch(/Read-only file system/);
    expect(run.stdout).toMatch(/\s4096\s/);
    const volume = await Volume.get("cli-data");
    expect(readFileSync(join(volume.path, "kept.txt"), "utf8")).toBe("kept\n");
    const bad = await msb("run", "--rm", "-v", "x:/proc/x", "alpine:latest", "--", "true");
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/invalid volumes\.\/proc\/x: cannot be on or under \/proc/);
    await expect(Volume.get("x")).rejects.toBeInstanceOf(VolumeNotFoundError); // not created for a bad flag
    await Volume.remove("cli-data");
  });
});
