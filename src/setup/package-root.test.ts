import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { PACKAGE_NAME, defaultAgentSourceDir, findPackageRoot } from "./package-root.js";

describe("findPackageRoot", () => {
  it("finds the microsandbox package from this module (run from src/)", () => {
    const root = findPackageRoot();
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string };
    expect(pkg.name).toBe(PACKAGE_NAME);
    expect(defaultAgentSourceDir()).toBe(join(root, "agent"));
  });

  it("fails with SetupError outside the package", async () => {
    const dir = await mkdtemp(join(tmpdir(), "msb-root-"));
    try {
      expect(() => findPackageRoot(dir)).toThrow(SetupError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
