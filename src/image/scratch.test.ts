import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { truncate } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { identityOf } from "../os/process-identity.js";
import { OWNER_FILE, makeOwnedDir } from "../os/owned-dir.js";
import { scratchPath } from "../os/scratch-name.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { removeAbandonedOwnedDirs, removeAbandonedScratch } from "./scratch.js";

const dir = tempDirs("msb-scratch-")();

describe("removeAbandonedScratch", () => {
  it("removes what dead processes left, keeps live owners' files and other names", async () => {
    const dead = Number(
      spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
    );
    const self = identityOf(process.pid);
    const live = basename(scratchPath(dir, "rootfs-live"));
    mkdirSync(join(dir, live));
    const build = `rootfs-dead.${dead}-12345.0123456789ab.tmp`;
    mkdirSync(join(dir, build));
    writeFileSync(join(dir, build, "rootfs.ext4"), Buffer.alloc(64 * 1024, 1));
    await truncate(join(dir, build, "rootfs.ext4"), 1024 ** 3); // sparse, as mke2fs's image
    const blob = `blob-abc.${dead}.0123456789ab.tmp`;
    writeFileSync(join(dir, blob), "partial");
    const reused = `blob-def.${self.pid}-${(self.startTime ?? 0) + 1}.0123456789ab.tmp`;
    writeFileSync(join(dir, reused), "x");
    writeFileSync(join(dir, "unrelated.tmp"), "keep");

    const result = await removeAbandonedScratch(dir);
    expect(result.removed.map((p) => basename(p)).sort()).toEqual([blob, reused, build].sort());
    expect(result.bytesFreed).toBeGreaterThanOrEqual(64 * 1024);
    expect(result.bytesFreed).toBeLessThan(16 * 1024 ** 2); // allocated blocks, not the sparse size
    expect(readdirSync(dir).sort()).toEqual([live, "unrelated.tmp"].sort());
    expect((await removeAbandonedScratch(join(dir, "missing"))).removed).toEqual([]);
  });
});

describe("removeAbandonedOwnedDirs", () => {
  it("removes the owned directories of dead owners, never a live owner's or one without an owner file", async () => {
    const parent = join(dir, "run");
    const live = makeOwnedDir(parent, join(dir, "owned-tmp"), "vm");
    const dead = Number(
      spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
    );
    const self = identityOf(process.pid);
    const owned = (name: string, owner: object): string => {
      mkdirSync(join(parent, name));
      writeFileSync(join(parent, name, OWNER_FILE), JSON.stringify(owner));
      writeFileSync(join(parent, name, "console.log"), Buffer.alloc(8192, 1));
      return join(parent, name);
    };
    const gone = owned("0123456789ab", { pid: dead, startTime: 1, purpose: "spare-vm" });
    const reused = owned("0123456789ac", {
      pid: self.pid,
      startTime: (self.startTime ?? 0) + 1,
      purpose: "vm",
    });
    mkdirSync(join(parent, "0123456789ad")); // a sandbox's

    const result = await removeAbandonedOwnedDirs(parent);
    expect([...result.removed].sort()).toEqual([gone, reused].sort());
    expect(result.bytesFreed).toBeGreaterThanOrEqual(2 * 8192);
    expect(readdirSync(parent).sort()).toEqual([basename(live), "0123456789ad"].sort());
  });
});
