/**
 * Named volumes on the host, without a VM: create, list, get, remove for both kinds; a quota directory's loop
 * mount, its hard limit and its mount made again after an unmount (as after a reboot); real usedBytes; atomic
 * creation (two processes racing, a failure leaving nothing); removal refused while a sandbox references it.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { msbPaths } from "../../src/config/paths.js";
import {
  VolumeAlreadyExistsError,
  VolumeInUseError,
  VolumeNotFoundError,
  SetupError,
} from "../../src/errors.js";
import { Volume } from "../../src/sdk/volume.js";
import { isMountPoint } from "../../src/storage/host-mount.js";
import { Store } from "../../src/store/store.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { msb } from "../fixtures/msb-cli.js";

const MIB = 1024 * 1024;
let home = "";
let saved: string | undefined;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "msb-vol-"));
  saved = process.env["MSB_HOME"];
  process.env["MSB_HOME"] = home;
});

afterAll(async () => {
  for (const v of await Volume.list()) await Volume.remove(v.name);
  if (saved === undefined) Reflect.deleteProperty(process.env, "MSB_HOME");
  else process.env["MSB_HOME"] = saved;
  rmSync(home, { recursive: true, force: true });
});

/** Writes `bytes` of random data to `path` with dd (fsync'd); returns dd's exit status and stderr. */
function dd(path: string, mib: number): { ok: boolean; stderr: string } {
  try {
    execFileSync("dd", ["if=/dev/urandom", `of=${path}`, "bs=1M", `count=${mib}`, "conv=fsync"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    return { ok: true, stderr: "" };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: Buffer }).stderr ?? "") };
  }
}

/**
 * Runs `body` (an ES module's code, with `Volume` imported) in a child process with `MSB_HOME=msbHome` and no
 * capabilities at all: still uid 0 (the repository may sit where only root can read it). Returns its stdout.
 */
function withoutCapabilities(msbHome: string, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "msb-vol-nocaps-script-"));
  const script = join(dir, "script.mts");
  const sdk = join(repoRoot, "src/sdk/volume.ts");
  writeFileSync(script, `const { Volume } = await import(${JSON.stringify(sdk)});\n${body}`);
  try {
    return execFileSync(
      "setpriv",
      ["--inh-caps=-all", "--bounding-set=-all", "--", process.execPath, "--import", "tsx", script],
      { cwd: repoRoot, env: { ...process.env, MSB_HOME: msbHome } },
    ).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("directory volumes", () => {
  it("are a directory under volumes/, listed, measured and removed", async () => {
    const created = await Volume.create({ name: "plain", labels: { team: "a" } });
    expect(created.name).toBe("plain");
    expect(created.path).toBe(join(msbPaths(home).volumesDir, "plain"));
    writeFileSync(join(created.path, "one"), randomBytes(MIB));
    const handle = await Volume.get("plain");
    expect(handle).toMatchObject({
      name: "plain",
      kind: "directory",
      quotaMib: undefined,
      labels: { team: "a" },
    });
    expect(handle.usedBytes).toBeGreaterThanOrEqual(MIB);
    expect(handle.usedBytes).toBeLessThan(MIB + 64 * 1024);
    expect(Math.abs(handle.createdAt - Date.now())).toBeLessThan(60_000);
    expect((await Volume.list()).map((v) => v.name)).toContain("plain");
    await expect(Volume.create({ name: "plain" })).rejects.toBeInstanceOf(VolumeAlreadyExistsError);
    await handle.remove();
    expect(existsSync(created.path)).toBe(false);
    await expect(Volume.get("plain")).rejects.toBeInstanceOf(VolumeNotFoundError);
    await expect(Volume.remove("plain")).rejects.toBeInstanceOf(VolumeNotFoundError);
  });

  it("with a quota: a loop-mounted ext4 image, a hard limit, remounted when needed", async () => {
    const created = await Volume.create({ name: "quota", quotaMib: 32 });
    expect(isMountPoint(created.path)).toBe(true);
    const image = join(msbPaths(home).volumesDir, ".quota.ext4");
    expect(existsSync(image)).toBe(true);
    expect(dd(join(created.path, "first"), 20).ok).toBe(true);
    const first = readFileSync(join(created.path, "first"));
    const over = dd(join(created.path, "second"), 20);
    expect(over.ok).toBe(false);
    expect(over.stderr).toMatch(/No space left on device/);
    expect(readFileSync(join(created.path, "first")).equals(first)).toBe(true);
    rmSync(join(created.path, "second"));
    const used = (await Volume.get("quota")).usedBytes;
    expect(used).toBeGreaterThanOrEqual(20 * MIB);
    expect(used).toBeLessThan(21 * MIB);

    execFileSync("umount", [created.path]); // as a host reboot leaves it
    expect(isMountPoint(created.path)).toBe(false);
    // Reading needs no privilege and mounts nothing: measured from the image's superblock.
    const unprivileged = JSON.parse(
      withoutCapabilities(
        home,
        `const [got, listed] = [await Volume.get("quota"), await Volume.list()];
         console.log(JSON.stringify({ used: got.usedBytes, listed: listed.map((v) => [v.name, v.usedBytes]) }));`,
      ),
    ) as { used: number; listed: [string, number][] };
    expect(unprivileged.used).toBeGreaterThanOrEqual(20 * MIB);
    expect(Math.abs(unprivileged.used - used)).toBeLessThan(64 * 1024);
    expect(unprivileged.listed).toEqual([["quota", unprivileged.used]]);
    expect((await Volume.list()).map((v) => v.usedBytes)).toEqual([unprivileged.used]);
    expect(isMountPoint(created.path)).toBe(false);
    const again = await Volume.get("quota");
    expect(isMountPoint(created.path)).toBe(true);
    expect(again.usedBytes).toBe(used);
    expect(readFileSync(join(created.path, "first")).equals(first)).toBe(true);

    await Volume.remove("quota");
    expect(isMountPoint(created.path)).toBe(false);
    expect(existsSync(created.path)).toBe(false);
    expect(existsSync(image)).toBe(false);
  });
});

describe("disk volumes", () => {
  it("are a sparse ext4 image of quotaMib (1024 by default) whose usedBytes is what was written", async () => {
    const disk = await Volume.create({ name: "disk", kind: "disk", quotaMib: 64 });
    expect(disk.path).toBe(join(msbPaths(home).volumesDir, "disk", "disk.ext4"));
    const empty = await Volume.get("disk");
    expect(empty).toMatchObject({ kind: "disk", quotaMib: 64, usedBytes: 0 });
    const sparse = Number(execFileSync("du", ["-k", disk.path]).toString().split("\t")[0]);
    expect(sparse * 1024).toBeLessThan(16 * MIB);
    const mnt = mkdtempSync(join(tmpdir(), "msb-vol-mnt-"));
    execFileSync("mount", ["-o", "loop", disk.path, mnt]);
    try {
      expect(dd(join(mnt, "data"), 5).ok).toBe(true);
    } finally {
      execFileSync("umount", [mnt]);
      rmSync(mnt, { recursive: true });
    }
    const used = (await Volume.get("disk")).usedBytes;
    expect(used).toBeGreaterThanOrEqual(5 * MIB);
    expect(used).toBeLessThan(6 * MIB);

    const big = await Volume.create({ name: "default-size", kind: "disk" });
    expect((await Volume.get(big.name)).quotaMib).toBe(1024);
    await Volume.remove("disk");
    await Volume.remove("default-size");
    expect(readdirSync(msbPaths(home).volumesDir)).toEqual([]);
  });
});

describe("creation is atomic", () => {
  it("of two processes creating one name, one wins", async () => {
    const [a, b] = await Promise.all([
      msb("volume", "create", "--kind", "disk", "--quota", "32", "race"),
      msb("volume", "create", "--kind", "disk", "--quota", "32", "race"),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 125]);
    expect(a.stderr + b.stderr).toMatch(/a volume named "race" already exists/);
    const inProcess = await Promise.allSettled([
      Volume.create({ name: "race2" }),
      Volume.create({ name: "race2" }),
    ]);
    expect(inProcess.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const listed = await msb("volume", "ls", "-q");
    expect(listed.stdout.split("\n").filter((n) => n.startsWith("race"))).toEqual(["race", "race2"]);
    expect((await msb("volume", "rm", "race", "race2")).code).toBe(0);
  });

  it("a failure leaves neither row nor files", async () => {
    const small = join(home, "small");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", small]);
    process.env["MSB_HOME"] = small;
    try {
      // 1 TiB of ext4 metadata does not fit in 3 MiB: mke2fs fails.
      const err = await Volume.create({ name: "huge", kind: "disk", quotaMib: 1024 * 1024 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SetupError);
      expect(await Volume.list()).toEqual([]);
      expect(readdirSync(msbPaths(small).volumesDir)).toEqual([]);
    } finally {
      process.env["MSB_HOME"] = home;
      execFileSync("umount", [small]);
    }
  });
});

describe("privileges", () => {
  it("a quota directory without CAP_SYS_ADMIN: PrivilegeRequiredError naming it, nothing made", () => {
    const dir = mkdtempSync(join(tmpdir(), "msb-vol-nocaps-"));
    try {
      const out = withoutCapabilities(
        join(dir, "home"),
        `const err = await Volume.create({ name: "q", quotaMib: 16 }).catch((e) => e);
         console.log(JSON.stringify({ code: err?.code, privilege: err?.privilege, list: await Volume.list() }));`,
      );
      expect(JSON.parse(out)).toEqual({
        code: "MSB_ERR_PRIVILEGE_REQUIRED",
        privilege: expect.stringMatching(/root \(CAP_SYS_ADMIN\).*mount -o loop/) as unknown,
        list: [],
      });
      expect(existsSync(join(dir, "home", "volumes"))).toBe(false); // refused before anything was made
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("removal", () => {
  it("is refused while a sandbox, running or stopped, references the volume", async () => {
    await Volume.create({ name: "held" });
    const store = Store.open({ path: msbPaths(home).database });
    try {
      store.sandboxes.insert({
        name: "user",
        id: "abc123",
        configJson: JSON.stringify({ name: "user", image: "alpine", volumes: { "/d": { named: "held" } } }),
        image: "alpine",
        imageDigest: undefined,
        labels: {},
        runDir: join(home, "run", "abc123"),
        ownerPid: process.pid,
        detached: false,
      });
      store.sandboxes.setStatus("abc123", "stopped", { exitReason: "stopped" });
      const err = await Volume.remove("held").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VolumeInUseError);
      expect(err).toMatchObject({ volume: "held", holders: ["user"] });
      expect((err as Error).message).toMatch(/"user".*remove those sandboxes first/);
      const cli = await msb("volume", "rm", "held");
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/in use|used by sandboxes/);
      expect((await Volume.get("held")).name).toBe("held");
      store.sandboxes.delete("user");
    } finally {
      store.close();
    }
    await Volume.remove("held");
  });

  it("inspect prints JSON; ls a table, or JSON with --format json or --json", async () => {
    expect((await msb("volume", "create", "--label", "k=v", "shown")).stdout).toBe("shown\n");
    const inspected = JSON.parse((await msb("volume", "inspect", "shown")).stdout) as Record<
      string,
      unknown
    >[];
    expect(inspected).toEqual([
      expect.objectContaining({
        name: "shown",
        kind: "directory",
        quotaMib: null,
        usedBytes: 0,
        labels: { k: "v" },
      }),
    ]);
    const table = (await msb("volume", "list")).stdout;
    expect(table).toMatch(/^NAME\s+KIND\s+QUOTA\s+USED\s+CREATED\nshown\s+directory\s+-\s+0B\s+/);
    const listed = JSON.parse((await msb("volume", "ls", "--format", "json")).stdout) as unknown;
    expect(listed).toEqual([
      expect.objectContaining({ name: "shown", kind: "directory", labels: { k: "v" } }),
    ]);
    expect(JSON.parse((await msb("volume", "ls", "--json")).stdout)).toEqual(listed);
    const missing = await msb("volume", "inspect", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no volume named "nope"/);
    await Volume.remove("shown");
  });
});
