import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SAMPLE_MANIFEST } from "./__fixtures__/manifest.js";
import { isManifest, readManifest, readManifestSync, writeManifest } from "./manifest.js";

describe("manifest", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-manifest-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips through an atomic write, leaving no temporary file", async () => {
    await writeManifest(dir, SAMPLE_MANIFEST);
    expect(await readManifest(dir)).toEqual({ manifest: SAMPLE_MANIFEST });
    expect(readManifestSync(dir)).toEqual({ manifest: SAMPLE_MANIFEST });
    expect(await readdir(dir)).toEqual(["manifest.json"]);
  });

  it("explains a missing, corrupt or foreign manifest", async () => {
    expect(readManifestSync(dir)).toEqual({ problem: expect.stringContaining("does not exist") as unknown });
    await writeFile(join(dir, "manifest.json"), "{");
    expect(await readManifest(dir)).toEqual({
      problem: expect.stringContaining("not valid JSON") as unknown,
    });
    await writeFile(join(dir, "manifest.json"), JSON.stringify({ ...SAMPLE_MANIFEST, schema: 99 }));
    expect(await readManifest(dir)).toEqual({
      problem: expect.stringContaining("another version") as unknown,
    });
  });

  it("validates field types and enumerations", () => {
    expect(isManifest(SAMPLE_MANIFEST)).toBe(true);
    expect(isManifest({ ...SAMPLE_MANIFEST, arch: "riscv64" })).toBe(false);
    expect(isManifest({ ...SAMPLE_MANIFEST, kernel: { ...SAMPLE_MANIFEST.kernel, size: "3" } })).toBe(false);
    expect(isManifest({ ...SAMPLE_MANIFEST, modules: { requested: [1], files: [] } })).toBe(false);
    expect(isManifest({ ...SAMPLE_MANIFEST, initrd: { ...SAMPLE_MANIFEST.initrd, compression: "xz" } })).toBe(
      false,
    );
    expect(isManifest(null)).toBe(false);
  });
});
