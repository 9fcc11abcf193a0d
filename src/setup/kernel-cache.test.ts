import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  clearBuildFailure,
  commitKernel,
  kernelBuildKey,
  lookupKernel,
  newScratchDir,
  previousBuildFailure,
  recordBuildFailure,
  type KernelBuildInputs,
} from "./kernel-cache.js";

const inputs: KernelBuildInputs = {
  sourceSha256: "a".repeat(64),
  fragment: "CONFIG_A=y\n",
  patches: [{ name: "0001-a.patch", text: "--- a/x\n" }],
  recipe: "recipe 1",
  arch: "x86_64",
};

describe("kernelBuildKey", () => {
  it("is stable and changes with every input", () => {
    const key = kernelBuildKey(inputs);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(kernelBuildKey({ ...inputs })).toBe(key);
    const variants = [
      { ...inputs, sourceSha256: "b".repeat(64) },
      { ...inputs, fragment: "CONFIG_A=n\n" },
      { ...inputs, recipe: "recipe 2" },
      { ...inputs, arch: "aarch64" as const },
      { ...inputs, fragment: "CONFIG_A=y\nCONFIG_B=y\n" },
      { ...inputs, patches: [] },
      { ...inputs, patches: [{ name: "0001-a.patch", text: "--- a/y\n" }] },
      { ...inputs, patches: [{ name: "0002-a.patch", text: "--- a/x\n" }] },
      // Field boundaries count: moving text from one input to the next is a different key.
      { ...inputs, recipe: "recipe 1\nCONFIG_A=y", fragment: "" },
    ];
    for (const v of variants) expect(kernelBuildKey(v)).not.toBe(key);
  });

  it("ignores the fragment's comments, blank lines and option order", () => {
    const two = { ...inputs, fragment: "CONFIG_A=y\n# CONFIG_B is not set\n" };
    const reordered = { ...inputs, fragment: "# why B is off\n\n# CONFIG_B is not set\nCONFIG_A=y\n" };
    expect(kernelBuildKey(reordered)).toBe(kernelBuildKey(two));
  });
});

describe("build cache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-kcache-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function entry(content: string): Promise<string> {
    const scratch = await newScratchDir(dir);
    await mkdir(join(scratch, "entry"));
    await writeFile(join(scratch, "entry", "vmlinux"), content);
    return join(scratch, "entry");
  }

  const info = (size: number) => ({
    key: "k1",
    release: "6.1.192-microsandbox",
    sourcePackage: "linux-source-6.1",
    sourceVersion: "6.1.192-3",
    buildSeconds: 1,
    size,
  });

  it("finds nothing, then the committed entry; a truncated vmlinux is not an entry", async () => {
    expect(await lookupKernel(dir, "k1")).toBeUndefined();
    const committed = await commitKernel(dir, await entry("kernel"), info(6));
    const found = await lookupKernel(dir, "k1");
    expect(found?.vmlinux).toBe(committed.vmlinux);
    expect(found?.info.release).toBe("6.1.192-microsandbox");
    await writeFile(committed.vmlinux, "ker");
    expect(await lookupKernel(dir, "k1")).toBeUndefined();
  });

  it("keeps the first of two racing commits of one key and removes the loser's directory", async () => {
    const first = await entry("first!");
    const second = await entry("second");
    await commitKernel(dir, first, info(6));
    await commitKernel(dir, second, info(6));
    const found = await lookupKernel(dir, "k1");
    expect(found).toBeDefined();
    const names = await readdir(dir);
    expect(names).toContain("k1");
    for (const name of names.filter((n) => n.startsWith(".build-"))) {
      expect(await readdir(join(dir, name))).toEqual([]);
    }
  });

  it("remembers a failure until cleared or a successful commit", async () => {
    expect(await previousBuildFailure(dir, "k1")).toBeUndefined();
    await recordBuildFailure(dir, "k1", "make failed");
    expect(await previousBuildFailure(dir, "k1")).toMatch(/make failed$/);
    await clearBuildFailure(dir, "k1");
    expect(await previousBuildFailure(dir, "k1")).toBeUndefined();
    await recordBuildFailure(dir, "k1", "make failed");
    await commitKernel(dir, await entry("kernel"), info(6));
    expect(await previousBuildFailure(dir, "k1")).toBeUndefined();
  });
});
