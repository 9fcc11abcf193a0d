/**
 * Volumes plumbing at the VM level: a MountPlan given to MicroVm.boot becomes virtio-fs shares (rw and ro, the
 * latter enforced on the host), ext4 disks and tmpfs mounts in the guest; a failed mount leaves nothing behind.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { NetworkStack } from "../../src/net/stack/network-stack.js";
import type { MountPlan } from "../../src/storage/mount-plan.js";
import type { MicroVm } from "../../src/vm/microvm.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { freePort } from "../fixtures/registry/process.js";
import {
  bootBusyboxVm,
  processesMentioning,
  qemuProcessesMentioning,
  useRunDirFixture,
  vmRunDir,
} from "../fixtures/vm.js";

/** A sparse ext4 image of `mib` MiB. */
function ext4Image(path: string, mib: number): string {
  execFileSync("truncate", ["-s", `${mib}M`, path]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-E", "root_owner=0:0", path]);
  return path;
}

async function sh(vm: MicroVm, script: string): Promise<{ code: number; out: string }> {
  const r = await vm.exec({ argv: ["/bin/sh", "-c", script], timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout.toString() + r.stderr.toString() };
}

interface Fixture {
  vm: MicroVm;
  runDir: string;
  rwDir: string;
  roDir: string;
  /** Host port published to the guest's port 80. */
  port: number;
}

describe("guest mounts from a MountPlan", () => {
  const fixture = useRunDirFixture<Fixture>("mounts", async (runDir, cleanups) => {
    const rwDir = join(runDir, "rw-share");
    const roDir = join(runDir, "ro-share");
    mkdirSync(rwDir, { recursive: true });
    mkdirSync(roDir, { recursive: true });
    writeFileSync(join(roDir, "kept.txt"), "host\n");
    // A mount nested in the read-only share (on the host): the guest sees it, read-only too.
    const nested = join(roDir, "nested");
    mkdirSync(nested);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "msb-test-nested", nested]);
    cleanups.push(() => {
      execFileSync("umount", [nested]);
    });
    writeFileSync(join(nested, "inner.txt"), "nested\n");
    const plan: MountPlan = {
      shares: [
        { tag: "vol0", hostPath: rwDir, readonly: false },
        { tag: "vol1", hostPath: roDir, readonly: true },
      ],
      disks: [
        { path: ext4Image(join(runDir, "data.img"), 64), serial: "vol2", readonly: false },
        { path: ext4Image(join(runDir, "rodata.img"), 16), serial: "vol3", readonly: true },
      ],
      mounts: [
        { kind: "virtiofs", target: "/mnt/rw", tag: "vol0", readonly: false },
        { kind: "virtiofs", target: "/mnt/ro", tag: "vol1", readonly: true },
        { kind: "disk", target: "/data", serial: "vol2", readonly: false },
        { kind: "disk", target: "/data/ro", serial: "vol3", readonly: true },
        { kind: "tmpfs", target: "/scratch", sizeMib: 4, readonly: false },
        { kind: "tmpfs", target: "/rotmp", readonly: true },
      ],
    };
    // A VM with shares runs modern virtio-mmio: the NIC must work too.
    const port = await freePort();
    const net = await NetworkStack.start({
      socketPath: join(runDir, "net.sock"),
      ports: { [String(port)]: 80 },
    });
    cleanups.push(() => {
      net.close();
    });
    const vm = await bootBusyboxVm(runDir, {
      mounts: plan,
      network: { nic: net.nic, configure: net.guestConfig },
    });
    cleanups.push(async () => {
      await vm.shutdown();
    });
    return { vm, runDir, rwDir, roDir, port };
  });

  it("mounts each in plan order with the requested kind and flags", async () => {
    const { out } = await sh(fixture().vm, "cat /proc/mounts");
    const line = (target: string): string => out.split("\n").find((l) => l.split(" ")[1] === target) ?? "";
    expect(line("/mnt/rw")).toMatch(/^vol0 \/mnt\/rw virtiofs rw/);
    expect(line("/mnt/ro")).toMatch(/^vol1 \/mnt\/ro virtiofs ro/);
    expect(line("/data")).toMatch(/^\/dev\/vd\w+ \/data ext4 rw/);
    expect(line("/data/ro")).toMatch(/^\/dev\/vd\w+ \/data\/ro ext4 ro/);
    expect(line("/scratch")).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,relatime,size=4096k/);
    expect(line("/rotmp")).toMatch(/^tmpfs \/rotmp tmpfs ro/);
  });

  it("a rw share: guest writes reach the host and host writes reach the guest", async () => {
    const { vm, rwDir } = fixture();
    expect((await sh(vm, "echo from-guest > /mnt/rw/g.txt && mkdir /mnt/rw/sub")).code).toBe(0);
    expect(readFileSync(join(rwDir, "g.txt"), "utf8")).toBe("from-guest\n");
    writeFileSync(join(rwDir, "h.txt"), "from-host\n");
    expect(await sh(vm, "cat /mnt/rw/h.txt")).toEqual({ code: 0, out: "from-host\n" });
  });

  it("the NIC works beside the shares: a guest server publishes a file of the rw share", async () => {
    const { vm, rwDir, port } = fixture();
    writeFileSync(join(rwDir, "index.html"), "served from the share\n");
    expect((await sh(vm, "httpd -p 80 -h /mnt/rw")).code).toBe(0);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(3000) });
        expect(await res.text()).toBe("served from the share\n");
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  });

  it("a ro share refuses guest root, even after a remount rw in the guest, in the mounts nested in it too; the host folder is unchanged", async () => {
    const { vm, roDir } = fixture();
    const before = await sh(vm, "echo x > /mnt/ro/new.txt");
    expect(before.code).not.toBe(0);
    expect(before.out).toMatch(/Read-only file system/);
    const remount = await sh(vm, "mount -o remount,rw /mnt/ro && grep ' /mnt/ro ' /proc/mounts");
    expect(remount).toMatchObject({ code: 0 });
    expect(remount.out).toMatch(/virtiofs rw/);
    for (const script of ["echo x > /mnt/ro/new.txt", "echo x >> /mnt/ro/kept.txt", "rm /mnt/ro/kept.txt"]) {
      const r = await sh(vm, script);
      expect(r.code, script).not.toBe(0);
      expect(r.out, script).toMatch(/Read-only file system/);
    }
    expect(await sh(vm, "cat /mnt/ro/kept.txt")).toEqual({ code: 0, out: "host\n" });
    expect(await sh(vm, "cat /mnt/ro/nested/inner.txt")).toEqual({ code: 0, out: "nested\n" });
    for (const script of ["echo x > /mnt/ro/nested/new.txt", "rm /mnt/ro/nested/inner.txt"]) {
      const r = await sh(vm, script);
      expect(r.code, script).not.toBe(0);
      expect(r.out, script).toMatch(/Read-only file system/);
    }
    expect(readdirSync(roDir).sort()).toEqual(["kept.txt", "nested"]);
    expect(readdirSync(join(roDir, "nested"))).toEqual(["inner.txt"]);
    expect(readFileSync(join(roDir, "kept.txt"), "utf8")).toBe("host\n");
  });

  it("an ext4 disk is writable; a read-only one refuses writes", async () => {
    const { vm } = fixture();
    expect(await sh(vm, "echo disk > /data/f && sync && cat /data/f")).toEqual({ code: 0, out: "disk\n" });
    const ro = await sh(vm, "touch /data/ro/f");
    expect(ro.code).not.toBe(0);
    expect(ro.out).toMatch(/Read-only file system/);
  });

  it("a sized tmpfs fills up with ENOSPC; a read-only tmpfs refuses writes", async () => {
    const { vm } = fixture();
    const full = await sh(vm, "dd if=/dev/zero of=/scratch/big bs=1M count=8");
    expect(full.code).not.toBe(0);
    expect(full.out).toMatch(/No space left on device/);
    expect((await sh(vm, "stat -c %s /scratch/big")).out.trim()).toBe(String(4 * 1024 * 1024));
    const ro = await sh(vm, "touch /rotmp/f");
    expect(ro.code).not.toBe(0);
    expect(ro.out).toMatch(/Read-only file system/);
  });

  // Last: the VM is gone afterwards.
  it("powers off cleanly with everything mounted; the disk volume keeps what the guest wrote", async () => {
    const { vm, runDir } = fixture();
    expect(await vm.shutdown()).toMatchObject({ code: 0, signal: null });
    expect(processesMentioning("virtiofsd", runDir)).toEqual([]);
    // The daemons ending with QEMU is not a share dying.
    await sleep(2_500);
    expect(readFileSync(join(runDir, "console.log"), "utf8")).not.toMatch(/virtiofsd of share/);
    const data = execFileSync("debugfs", ["-R", "cat /f", join(runDir, "data.img")], { stdio: "pipe" });
    expect(data.toString()).toBe("disk\n");
  });
});

describe("failed mounts leave nothing behind", () => {
  it("a guest mount that fails is an init error naming its target; QEMU and virtiofsd are gone", async () => {
    const runDir = vmRunDir("mount-fail");
    const share = join(runDir, "share");
    mkdirSync(share, { recursive: true });
    const plan: MountPlan = {
      shares: [{ tag: "vol0", hostPath: share, readonly: false }],
      disks: [],
      // /etc/passwd is a file: the mount point cannot be made.
      mounts: [{ kind: "virtiofs", target: "/etc/passwd/x", tag: "vol0", readonly: false }],
    };
    await expect(bootBusyboxVm(runDir, { mounts: plan })).rejects.toMatchObject({
      code: "MSB_ERR_AGENT",
      message: expect.stringMatching(/\/etc\/passwd\/x/) as unknown,
    });
    expect(qemuProcessesMentioning(runDir)).toEqual([]);
    expect(processesMentioning("virtiofsd", runDir)).toEqual([]);
  });

  it("no virtiofsd outlives a SIGKILLed owner", async () => {
    const runDir = vmRunDir("share-orphan");
    const script = join(repoRoot, "test", "fixtures", "boot-and-wait.ts");
    const child = spawn(process.execPath, ["--import", "tsx", script, runDir, "share"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const ready = new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (/qemu-pid=\d+/.test(out)) resolve();
      });
      child.once("exit", (code) => {
        reject(new Error(`owner exited early with ${code}`));
      });
    });
    try {
      await ready;
      expect(processesMentioning("virtiofsd", runDir).length).toBeGreaterThan(0);
    } finally {
      child.kill("SIGKILL");
    }
    const deadline = Date.now() + 5_000;
    while (processesMentioning("virtiofsd", runDir).length > 0 && Date.now() < deadline) await sleep(50);
    expect(processesMentioning("virtiofsd", runDir)).toEqual([]);
    expect(qemuProcessesMentioning(runDir)).toEqual([]);
  });

  it("without CAP_SYS_ADMIN a share is a PrivilegeRequiredError naming it; no virtiofsd starts", () => {
    const runDir = vmRunDir("share-unprivileged");
    mkdirSync(runDir, { recursive: true, mode: 0o777 });
    const script = join(repoRoot, "test", "fixtures", "share-unprivileged.ts");
    const out = execFileSync(
      "setpriv",
      // Still uid 0 (the repository may sit where only root can read it), with no capabilities at all.
      ["--inh-caps=-all", "--bounding-set=-all", "--", process.execPath, "--import", "tsx", script, runDir],
      { cwd: repoRoot, env: { ...process.env, HOME: runDir } },
    );
    const result = JSON.parse(out.toString()) as { code?: string; privilege?: string; message?: string };
    expect(result).toMatchObject({ code: "MSB_ERR_PRIVILEGE_REQUIRED", privilege: "root (CAP_SYS_ADMIN)" });
    expect(result.message).toMatch(/virtiofsd.*needs root \(CAP_SYS_ADMIN\)/);
    expect(processesMentioning("virtiofsd", runDir)).toEqual([]);
  });

  it("a virtiofsd that dies stops its VM (the mount would hang) and says so in the console log", async () => {
    const runDir = vmRunDir("share-died");
    const share = join(runDir, "share");
    mkdirSync(share, { recursive: true });
    const vm = await bootBusyboxVm(runDir, {
      mounts: {
        shares: [{ tag: "vol0", hostPath: share, readonly: false }],
        disks: [],
        mounts: [{ kind: "virtiofs", target: "/mnt", tag: "vol0", readonly: false }],
      },
    });
    try {
      const daemons = processesMentioning("virtiofsd", runDir);
      expect(daemons.length).toBeGreaterThan(0);
      for (const pid of daemons) process.kill(pid, "SIGKILL");
      const exited = await Promise.race([vm.exited.then(() => true), sleep(15_000).then(() => false)]);
      expect(exited).toBe(true);
      expect(readFileSync(join(runDir, "console.log"), "utf8")).toMatch(
        /virtiofsd of share 0 exited; stopping the VM/,
      );
    } finally {
      await vm.kill();
    }
    expect(qemuProcessesMentioning(runDir)).toEqual([]);
  });

  it("a share of a missing folder fails before QEMU starts", async () => {
    const runDir = vmRunDir("share-missing");
    const plan: MountPlan = {
      shares: [{ tag: "vol0", hostPath: join(runDir, "nope"), readonly: true }],
      disks: [],
      mounts: [{ kind: "virtiofs", target: "/mnt", tag: "vol0", readonly: true }],
    };
    await expect(bootBusyboxVm(runDir, { mounts: plan })).rejects.toMatchObject({ code: "MSB_ERR_VM_START" });
    expect(qemuProcessesMentioning(runDir)).toEqual([]);
    expect(processesMentioning("virtiofsd", runDir)).toEqual([]);
  });

  it("a missing virtiofsd is a RuntimeNotInstalledError; nothing starts", async () => {
    const runDir = vmRunDir("no-virtiofsd");
    mkdirSync(join(runDir, "share"), { recursive: true });
    const plan: MountPlan = {
      shares: [{ tag: "vol0", hostPath: join(runDir, "share"), readonly: false }],
      disks: [],
      mounts: [{ kind: "virtiofs", target: "/mnt", tag: "vol0", readonly: false }],
    };
    const saved = process.env["MSB_VIRTIOFSD"];
    process.env["MSB_VIRTIOFSD"] = join(runDir, "no-such-virtiofsd");
    try {
      await expect(bootBusyboxVm(runDir, { mounts: plan })).rejects.toMatchObject({
        code: "MSB_ERR_RUNTIME_NOT_INSTALLED",
      });
    } finally {
      if (saved === undefined) delete process.env["MSB_VIRTIOFSD"];
      else process.env["MSB_VIRTIOFSD"] = saved;
    }
    expect(qemuProcessesMentioning(runDir)).toEqual([]);
  });
});
