/**
 * The tree the guest sees on the booted root disk equals the tree the layers describe. Needs the runtime (QEMU,
 * kernel, agent from `npm run setup`): when it is missing this test fails (RuntimeNotInstalledError), it never skips.
 * The same check without a VM, on the host with debugfs, is in image-rootfs.test.ts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MicroVm } from "../../src/vm/microvm.js";
import { diffTrees, MODE_TYPES } from "../fixtures/registry/ext4-tree.js";
import { testHome } from "../fixtures/registry/harness.js";
import { expectedTreeImage, TREE_HARDLINKS, type Tree } from "../fixtures/registry/images.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry/registry-server.js";
import { seedRegistry } from "../fixtures/registry/seed.js";

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry();
  await seedRegistry(registry.url, { python: true, only: ["tree:latest", "library/python:3.12"] });
}, 20 * 60_000);
afterAll(async () => {
  await registry.stop();
});

/**
 * Lists the root disk as the guest kernel sees it. /dev, /proc, /sys and /tmp are mounted over in the guest, so a
 * non-recursive bind mount of / (placed in the /tmp tmpfs, outside the disk) shows the disk's own tree.
 */
const LIST_ROOT =
  "mkdir -p /tmp/rv && mount -o bind / /tmp/rv && cd /tmp/rv && find . -xdev -exec stat -c '%f|%u|%g|%s|%t|%T|%i|%N' {} +";

function parseListing(text: string): { tree: Tree; inodes: Map<string, number> } {
  const tree: Tree = new Map();
  const inodes = new Map<string, number>();
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const [rawMode, uid, gid, size, major, minor, ino, ...nameParts] = line.split("|");
    const name = nameParts.join("|");
    const mode = Number.parseInt(rawMode ?? "0", 16);
    const type = MODE_TYPES[mode & 0o170000];
    if (type === undefined) throw new Error(`unexpected mode in ${line}`);
    const link = /^'(.*)' -> '(.*)'$/.exec(name);
    const relative = link?.[1] ?? name;
    const path = relative === "." ? "/" : relative.slice(1);
    tree.set(path, {
      type,
      mode: mode & 0o7777,
      uid: Number(uid),
      gid: Number(gid),
      size: type === "file" ? Number(size) : 0,
      ...(link?.[2] === undefined ? {} : { target: link[2] }),
      ...(type === "char" || type === "block"
        ? { rdev: `${Number.parseInt(major ?? "0", 16)}:${Number.parseInt(minor ?? "0", 16)}` }
        : {}),
    });
    inodes.set(path, Number(ino));
  }
  return { tree, inodes };
}

describe("the booted root disk", () => {
  it("shows the guest exactly the tree the tree image's layers describe", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/tree:latest`);
    const rootDisk = await images.createRootDisk({ image: info.digest, path: join(home.home, "tree.qcow2") });
    await using vm = await MicroVm.boot({ rootDisk, memoryMib: 256 });
    const result = await vm.exec({ argv: ["/bin/sh", "-c", LIST_ROOT], timeoutMs: 120_000 });
    expect(result.code, result.stderr.toString()).toBe(0);
    const seen = parseListing(result.stdout.toString());
    expect(diffTrees(expectedTreeImage(), seen.tree)).toEqual([]);
    for (const group of TREE_HARDLINKS) expect(new Set(group.map((p) => seen.inodes.get(p))).size).toBe(1);
    const owned = await vm.exec({ argv: ["/bin/cat", "/opt/app/owned.txt"] });
    expect(owned.stdout.toString()).toBe("replaced in layer 3\n");
  });

  it("runs python3 from the python:3.12 image (through a mirror), as the seed's examples do", async () => {
    await using home = await testHome();
    await using images = await home.service({ vars: { MSB_REGISTRY_MIRRORS: registry.url } });
    const info = await images.pull("python:3.12");
    const rootDisk = await images.createRootDisk({
      image: info.digest,
      path: join(home.home, "python.qcow2"),
    });
    await using vm = await MicroVm.boot({ rootDisk, memoryMib: 512 });
    const result = await vm.exec({
      argv: ["python3", "-c", "import json, ssl, sqlite3; print(1 + 1)"],
      timeoutMs: 120_000,
    });
    expect(result.stderr.toString()).toBe("");
    expect(result.stdout.toString()).toBe("2\n");
  });
});
