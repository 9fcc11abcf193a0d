import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCK_FILE, acquireInstallLock } from "./lock.js";

describe("acquireInstallLock", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("excludes a second holder until released", async () => {
    const release = await acquireInstallLock(dir);
    expect(await readFile(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    await expect(acquireInstallLock(dir)).rejects.toThrow(/another set-up/);
    await release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    await (
      await acquireInstallLock(dir)
    )();
  });

  it("takes over a lock left by a dead process", async () => {
    await writeFile(join(dir, LOCK_FILE), "999999999\n");
    const release = await acquireInstallLock(dir);
    expect(await readFile(join(dir, LOCK_FILE), "utf8")).toBe(`${process.pid}\n`);
    await release();
  });
});
