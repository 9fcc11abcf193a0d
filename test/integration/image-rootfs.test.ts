/**
 * Root disks, checked on the host without booting: the ext4 base built from an image's layers holds exactly the
 * tree the layers describe (read back with debugfs), including whiteouts, opaque directories, hard links, devices,
 * owners, special bits and xattrs; hostile layers are refused; builds are atomic; overlays are instant.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { access, chown, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RootfsBuildError } from "../../src/errors.js";
import { runTool } from "../../src/image/tool.js";
import { spawnPullChild } from "../fixtures/registry/child.js";
import { diffTrees, readExt4Tree } from "../fixtures/registry/ext4-tree.js";
import { cacheState, testHome } from "../fixtures/registry/harness.js";
import {
  busyboxEntries,
  expectedTreeImage,
  TREE_HARDLINKS,
  TREE_XATTRS,
  treeFromEntries,
} from "../fixtures/registry/images.js";
import { buildImage, makeLayer } from "../fixtures/registry/oci-builder.js";
import { pushImage } from "../fixtures/registry/push.js";
import { ensurePythonLayer } from "../fixtures/registry/python-image.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry/registry-server.js";
import { seedRegistry } from "../fixtures/registry/seed.js";
import { treeOfTar } from "../fixtures/registry/tar-tree.js";
import { writeTar, type TarEntrySpec } from "../fixtures/registry/tar-writer.js";

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry();
  await seedRegistry(registry.url, {
    python: true,
    only: [
      "busybox:latest",
      "busybox-zstd:latest",
      "busybox-raw:latest",
      "tree:latest",
      "library/python:3.12",
    ],
  });
}, 20 * 60_000); // the first run on a machine builds the python layer with debootstrap (about 3 minutes)
afterAll(async () => {
  await registry.stop();
});

describe("base disk contents", () => {
  it("the tree image: whiteouts, opaque dirs, hard links, devices, owners, modes, xattrs", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/tree:latest`);
    const disk = await images.baseDisk(info.digest);
    const actual = await readExt4Tree(disk.path);
    expect(diffTrees(expectedTreeImage(), actual.tree)).toEqual([]);
    for (const group of TREE_HARDLINKS) expect(new Set(group.map((p) => actual.inodes.get(p))).size).toBe(1);
    expect(actual.xattrs).toEqual(TREE_XATTRS);
    expect(actual.tree.has("/lost+found")).toBe(false);
  });

  it.each(["busybox:latest", "busybox-zstd:latest", "busybox-raw:latest"])(
    "%s holds exactly the busybox tree",
    async (name) => {
      await using home = await testHome();
      await using images = await home.service();
      const disk = await images.baseDisk((await images.pull(`${registry.host}/${name}`)).digest);
      expect(diffTrees(treeFromEntries(busyboxEntries()), (await readExt4Tree(disk.path)).tree)).toEqual([]);
      const info = await stat(disk.path);
      expect(info.mode & 0o777).toBe(0o444);
      expect(info.blocks * 512).toBeLessThan(info.size / 4); // sparse: the free space costs nothing
    },
  );

  it("the debootstrapped python image equals its layer, read by an independent tar reader", async () => {
    await using home = await testHome();
    await using images = await home.service({ vars: { MSB_REGISTRY_MIRRORS: registry.url } });
    const info = await images.pull("python:3.12");
    const disk = await images.baseDisk(info.digest);
    const expected = await treeOfTar((await ensurePythonLayer()).tarPath);
    expect(expected.size).toBeGreaterThan(4000);
    expect(diffTrees(expected, (await readExt4Tree(disk.path)).tree)).toEqual([]);
  });
});

describe("without root", () => {
  it("builds the tree image as an unprivileged user (nobody), with the same result", async () => {
    const home = await mkdtemp(join(tmpdir(), "msb-rootless-"));
    try {
      const asRoot = process.getuid?.() === 0;
      if (asRoot) await chown(home, 65534, 65534);
      const reference = `${registry.host}/tree:latest`;
      const { result } = spawnPullChild({
        home,
        reference,
        baseDisk: true,
        ...(asRoot ? { dropToUid: 65534 } : {}),
      });
      const { code, output, stderr } = await result;
      expect(code, `${JSON.stringify(output)}\n${stderr}`).toBe(0);
      expect(diffTrees(expectedTreeImage(), (await readExt4Tree(output.disk ?? "")).tree)).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("hostile layers are refused, and leave nothing", () => {
  const cases: [string, TarEntrySpec[], RegExp][] = [
    ["dotdot", [{ path: "../escape", type: "file", content: "x" }], /path traversal/],
    ["dotdot-nested", [{ path: "etc/../../escape", type: "file", content: "x" }], /path traversal/],
    ["hardlink-missing", [{ path: "x", type: "hardlink", target: "etc/shadow" }], /does not exist/],
    ["hardlink-dotdot", [{ path: "x", type: "hardlink", target: "../../etc/passwd" }], /path traversal/],
    [
      "file-as-dir",
      [
        { path: "f", type: "file", content: "x" },
        { path: "f/child", type: "file", content: "y" },
      ],
      /not a directory/,
    ],
    [
      "symlink-loop",
      [
        { path: "a", type: "symlink", target: "b" },
        { path: "b", type: "symlink", target: "a" },
        { path: "a/x", type: "file" },
      ],
      /too many levels/,
    ],
  ];
  it.each(cases)("%s", async (name, entries, message) => {
    const image = buildImage({ layers: [makeLayer(writeTar(entries), "gzip")] });
    await pushImage({ registryUrl: registry.url, repository: `hostile/${name}`, tag: "latest" }, image);
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/hostile/${name}`);
    const build = images.baseDisk(info.digest);
    await expect(build).rejects.toBeInstanceOf(RootfsBuildError);
    await expect(build).rejects.toThrow(message);
    expect((await cacheState(home.paths)).scratch).toEqual([]);
    await expect(access(join(home.paths.imagesDir, info.digest.slice(7), "rootfs.ext4"))).rejects.toThrow(
      /ENOENT/,
    );
  });

  it("a symlink pointing outside the root cannot redirect writes to the host", async () => {
    const entries: TarEntrySpec[] = [
      { path: "etc", type: "symlink", target: "/" },
      { path: "etc/host-file", type: "file", content: "stays inside the image" },
      { path: "up", type: "symlink", target: "../../../../tmp" },
      { path: "up/also-inside", type: "file", content: "resolved against the image root" },
    ];
    const image = buildImage({ layers: [makeLayer(writeTar(entries), "gzip")] });
    await pushImage(
      { registryUrl: registry.url, repository: "hostile/symlink-escape", tag: "latest" },
      image,
    );
    await using home = await testHome();
    await using images = await home.service();
    const disk = await images.baseDisk((await images.pull(`${registry.host}/hostile/symlink-escape`)).digest);
    const tree = (await readExt4Tree(disk.path)).tree;
    expect(tree.get("/host-file")).toMatchObject({ type: "file", size: 22 });
    expect(tree.get("/tmp/also-inside")).toMatchObject({ type: "file" });
    await expect(access("/host-file")).rejects.toThrow(/ENOENT/);
  });
});

describe("building and overlays", () => {
  it("a build killed midway leaves no base disk; the next build breaks the stale lock and succeeds", async () => {
    await using home = await testHome();
    {
      await using images = await home.service({ vars: { MSB_REGISTRY_MIRRORS: registry.url } });
      await images.pull("python:3.12");
    }
    const { child, result } = spawnPullChild({
      home: home.home,
      reference: "python:3.12",
      mirrors: registry.url,
      baseDisk: true,
    });
    const deadline = Date.now() + 60_000;
    while ((await cacheState(home.paths)).scratch.length === 0 && Date.now() < deadline) await sleep(10);
    await sleep(50); // the build has started (lock taken, scratch directory made) and takes a second or more
    child.kill("SIGKILL");
    await result;
    const ramLeftovers = async (): Promise<string[]> =>
      (await readdir("/dev/shm").catch(() => [])).filter(
        (n) => n.includes(`.${child.pid}.`) || n.includes(`.${child.pid}-`), // scratch names: pid[-start]
      );
    const leftovers = (await cacheState(home.paths)).scratch;
    expect(leftovers.length).toBeGreaterThan(0); // the crashed build's scratch directory...
    await using images = await home.service({ vars: { MSB_REGISTRY_MIRRORS: registry.url } });
    const info = images.inspect("python:3.12");
    await expect(access(join(home.paths.imagesDir, info.digest.slice(7), "rootfs.ext4"))).rejects.toThrow(
      /ENOENT/,
    ); // ...but no disk
    const disk = await images.baseDisk(info.digest);
    expect(disk.built).toBe(true);
    await images.prune({ graceMs: 0 });
    expect((await cacheState(home.paths)).scratch).toEqual([]);
    expect(await ramLeftovers()).toEqual([]);
  });

  it("creates per-sandbox qcow2 overlays on the shared base in milliseconds", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/busybox:latest`);
    const base = await images.baseDisk(info.digest);
    const started = performance.now();
    const a = await images.createRootDisk({ image: info.digest, path: join(home.home, "a.qcow2") });
    const elapsed = performance.now() - started;
    const b = await images.createRootDisk({
      image: `${registry.host}/busybox:latest`,
      path: join(home.home, "b.qcow2"),
      virtualSizeBytes: base.sizeBytes * 2,
    });
    expect(elapsed).toBeLessThan(1000);
    for (const disk of [a, b]) {
      expect(disk.format).toBe("qcow2");
      const infoJson = await runTool("qemu-img", { args: ["info", "--output=json", disk.path] });
      const parsed = JSON.parse(infoJson.stdout.toString()) as {
        format: string;
        "backing-filename": string;
        "virtual-size": number;
      };
      expect(parsed.format).toBe("qcow2");
      expect(parsed["backing-filename"]).toBe(base.path);
      expect((await stat(disk.path)).size).toBeLessThan(1024 * 1024);
    }
  });
});
