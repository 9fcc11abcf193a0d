import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { OWNER_FILE, disownDir, listOwnedDirs, makeOwnedDir, ownerOfDir, parseOwner } from "./owned-dir.js";
import { identityOf } from "./process-identity.js";
import { tempDirs } from "./temp-dirs.fixture.js";

const root = tempDirs("msb-owned-")();

describe("owned directories", () => {
  it("are made in place, short, named by this process in their owner file, and leave no scratch", async () => {
    const parent = join(root, "run");
    const scratch = join(root, "tmp");
    const dir = makeOwnedDir(parent, scratch, "spare-vm");
    expect(basename(dir)).toMatch(/^[0-9a-f]{12}$/);
    expect(ownerOfDir(dir)).toEqual({ ...identityOf(process.pid), purpose: "spare-vm" });
    expect(readdirSync(scratch)).toEqual([]);
    mkdirSync(join(parent, "a-sandbox")); // a sandbox's run directory has no owner file
    expect(await listOwnedDirs(parent)).toEqual([{ path: dir, owner: ownerOfDir(dir) }]);
    disownDir(dir);
    disownDir(dir); // idempotent
    expect(ownerOfDir(dir)).toBeUndefined();
    expect(await listOwnedDirs(parent)).toEqual([]);
    expect(await listOwnedDirs(join(root, "missing"))).toEqual([]);
  });

  it("refuse owner files that are not one", () => {
    expect(parseOwner('{"pid":42,"startTime":7,"purpose":"vm"}')).toEqual({
      pid: 42,
      startTime: 7,
      purpose: "vm",
    });
    expect(parseOwner('{"pid":42,"purpose":"vm"}')).toEqual({ pid: 42, startTime: undefined, purpose: "vm" });
    for (const text of [
      "",
      "null",
      "[]",
      '{"pid":0,"purpose":"vm"}',
      '{"pid":1.5,"purpose":"vm"}',
      '{"pid":1,"startTime":"7","purpose":"vm"}',
      '{"pid":1}',
      `{"pid":1,"purpose":"${"x".repeat(65)}"}`,
    ]) {
      expect(parseOwner(text)).toBeUndefined();
    }
    const big = join(root, "big");
    mkdirSync(big);
    writeFileSync(join(big, OWNER_FILE), `{"pid":1,"purpose":"${"x".repeat(600)}"}`);
    expect(ownerOfDir(big)).toBeUndefined();
    writeFileSync(join(root, "file"), "not a directory");
    expect(ownerOfDir(join(root, "file"))).toBeUndefined();
  });
});
