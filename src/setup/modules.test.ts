import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { SetupError } from "../errors.js";
import { fakeModule } from "./__fixtures__/elf.js";
import {
  REQUESTED_MODULES,
  REQUIRED_MODULES,
  VIRTIOFS_MODULES,
  indexModuleTree,
  moduleLoadOrder,
  onDemandModules,
  resolveModules,
} from "./modules.js";

const KVER = "6.1.0-test";

describe("onDemandModules", () => {
  it("keeps the modules of the full order that the boot order lacks, in order", () => {
    const all = ["virtio_ring", "virtio", "virtio_mmio", "fuse", "virtiofs"].map((name) => ({ name }));
    const boot = ["virtio_ring", "virtio", "virtio_mmio"].map((name) => ({ name }));
    expect(onDemandModules(all, boot).map((m) => m.name)).toEqual(["fuse", "virtiofs"]);
    expect(REQUESTED_MODULES).toEqual([...REQUIRED_MODULES, ...VIRTIOFS_MODULES]);
  });
});

describe("moduleLoadOrder", () => {
  it("puts dependencies first, each once, following the given order", () => {
    const graph = new Map<string, string[]>([
      ["virtio_net", ["virtio_ring", "virtio", "net_failover"]],
      ["net_failover", ["failover"]],
      ["failover", []],
      ["virtio", []],
      ["virtio_ring", []],
      ["virtio_blk", ["virtio", "virtio_ring"]],
    ]);
    expect(moduleLoadOrder(["virtio_blk", "virtio_net"], graph)).toEqual([
      "virtio",
      "virtio_ring",
      "virtio_blk",
      "failover",
      "net_failover",
      "virtio_net",
    ]);
  });

  it("accepts '-' in requested names", () => {
    expect(moduleLoadOrder(["virtio-rng"], new Map([["virtio_rng", []]]))).toEqual(["virtio_rng"]);
  });

  it("reports cycles and unknown modules", () => {
    const cyclic = new Map([
      ["a", ["b"]],
      ["b", ["a"]],
    ]);
    expect(() => moduleLoadOrder(["a"], cyclic)).toThrow(/cycle: a -> b -> a/);
    expect(() => moduleLoadOrder(["z"], new Map())).toThrow(SetupError);
  });
});

describe("resolveModules on a synthetic module tree", () => {
  let root: string;
  const vermagic = `vermagic=${KVER} SMP preempt mod_unload`;
  const put = async (rel: string, data: Buffer | string): Promise<void> => {
    await mkdir(join(root, rel, ".."), { recursive: true });
    await writeFile(join(root, rel), data);
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "msb-modules-"));
    await put("kernel/drivers/virtio/virtio.ko", fakeModule("depends=", vermagic));
    await put("kernel/drivers/virtio/virtio_ring.ko", fakeModule("depends=", vermagic));
    await put(
      "kernel/drivers/char/hw_random/virtio-rng.ko",
      fakeModule("depends=virtio,virtio_ring,rng-core", vermagic),
    );
    await put(
      "kernel/fs/overlayfs/overlay.ko",
      fakeModule("depends=", "softdep=pre: virtio crc32c absent", vermagic),
    );
    await put("kernel/crypto/crc32c_generic.ko", fakeModule("name=crc32c", "depends=", vermagic));
    await put("kernel/drivers/net/packed.ko.xz", "not really xz");
    await put("kernel/drivers/other/wrong.ko", fakeModule("depends=", "vermagic=5.10.0-1 SMP"));
    await put("modules.builtin", "kernel/drivers/char/hw_random/rng-core.ko\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("indexes plain, compressed and built-in modules by normalised name", async () => {
    const tree = await indexModuleTree(root);
    expect(tree.files.get("virtio_rng")).toBe(join(root, "kernel/drivers/char/hw_random/virtio-rng.ko"));
    expect(tree.compressed.has("packed")).toBe(true);
    expect(tree.builtin.has("rng_core")).toBe(true);
  });

  it("orders dependencies, drops built-ins, keeps file names with '-'", async () => {
    const tree = await indexModuleTree(root);
    const resolved = await resolveModules(tree, ["virtio-rng"], KVER);
    expect(resolved.map((m) => m.fileName)).toEqual(["virtio.ko", "virtio_ring.ko", "virtio-rng.ko"]);
  });

  it("adds softdep pre modules found by file name and skips the others", async () => {
    const tree = await indexModuleTree(root);
    const resolved = await resolveModules(tree, ["overlay"], KVER);
    // crc32c is an alias (served by crc32c_generic.ko): without modules.alias it is skipped, like `absent`.
    expect(resolved.map((m) => m.name)).toEqual(["virtio", "overlay"]);
  });

  it("fails clearly on compressed, missing and foreign-kernel modules", async () => {
    const tree = await indexModuleTree(root);
    await expect(resolveModules(tree, ["packed"], KVER)).rejects.toThrow(/compressed \(packed\.ko\.xz\)/);
    await expect(resolveModules(tree, ["nope"], KVER)).rejects.toThrow(/nope is not in kernel 6\.1\.0-test/);
    await expect(resolveModules(tree, ["wrong"], KVER)).rejects.toThrow(/built for 5\.10\.0-1/);
  });
});

const installedDir = msbPaths(readEnv().home).kernelDir;
const installed = existsSync(join(installedDir, "manifest.json"));

// In CI the runtime is installed first: a missing install must fail there, not skip.
describe.skipIf(!installed && process.env["CI"] === undefined)(
  `resolveModules on the installed kernel modules (${installedDir})`,
  () => {
    it("resolves REQUIRED_MODULES to the recorded load order from the real .ko files", async () => {
      const manifest = JSON.parse(await readFile(join(installedDir, "manifest.json"), "utf8")) as {
        kernel: { version: string; flavor?: string };
        modules: { files: string[]; virtiofs: string[] };
      };
      if (manifest.kernel.flavor === "microvm") {
        // Everything is built into the microvm kernel: no modules to resolve (CI's second pass boots Debian's).
        expect(manifest.modules).toMatchObject({ files: [], virtiofs: [] });
        return;
      }
      const tree = await indexModuleTree(join(installedDir, "modules"));
      const resolved = await resolveModules(tree, REQUIRED_MODULES, manifest.kernel.version);
      expect(resolved.map((m) => m.fileName)).toEqual(manifest.modules.files);
      expect(resolved.map((m) => m.name)).toEqual(
        expect.arrayContaining(["virtio", "virtio_ring", "virtio_rng"]),
      );
      const all = await resolveModules(tree, REQUESTED_MODULES, manifest.kernel.version);
      const virtiofs = onDemandModules(all, resolved);
      expect(virtiofs.map((m) => m.fileName)).toEqual(manifest.modules.virtiofs);
      expect(virtiofs.map((m) => m.name)).toEqual(["fuse", "virtiofs"]);
    });
  },
);
