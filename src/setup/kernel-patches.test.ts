import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { applyKernelPatches, defaultPatchesDir, readKernelPatches } from "./kernel-patches.js";

const PATCH = `A description, as a mail would have it.

--- a/src/file.c
+++ b/src/file.c
@@ -1,3 +1,4 @@
 int a;
+int b;
 int c;
 int d;
`;

describe("kernel patches", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-kpatch-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the *.patch files in name order, and none from a missing directory", async () => {
    await mkdir(join(dir, "p"));
    await writeFile(join(dir, "p", "0002-b.patch"), "b");
    await writeFile(join(dir, "p", "0001-a.patch"), "a");
    await writeFile(join(dir, "p", "README"), "not a patch");
    const patches = await readKernelPatches(join(dir, "p"));
    expect(patches.map((p) => [p.name, p.text])).toEqual([
      ["0001-a.patch", "a"],
      ["0002-b.patch", "b"],
    ]);
    expect(await readKernelPatches(join(dir, "none"))).toEqual([]);
  });

  it("applies a patch to a tree and names the one that does not apply", async () => {
    const tree = join(dir, "tree");
    await mkdir(join(tree, "src"), { recursive: true });
    await writeFile(join(tree, "src", "file.c"), "int a;\nint c;\nint d;\n");
    const ok = { name: "0001-ok.patch", text: PATCH };
    await applyKernelPatches(tree, [ok]);
    expect(await readFile(join(tree, "src", "file.c"), "utf8")).toBe("int a;\nint b;\nint c;\nint d;\n");

    const other = join(dir, "other");
    await mkdir(join(other, "src"), { recursive: true });
    await writeFile(join(other, "src", "file.c"), "something else entirely\n");
    const err = await applyKernelPatches(other, [ok]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SetupError);
    expect((err as SetupError).hint).toContain("kernel/patches/0001-ok.patch");
  });

  it("ships the patches the build applies", async () => {
    expect(existsSync(defaultPatchesDir())).toBe(true);
    const names = (await readKernelPatches(defaultPatchesDir())).map((p) => p.name);
    expect(names).toContain("0001-x86-apic-lapic_bus_hz.patch");
  });
});
