import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ImageNotFoundError, InvalidConfigError } from "../../errors.js";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { hasExt4Magic, isLocalImage, parseImageInfo, planTree, resolveLocalImage } from "./local-root.js";

describe("local roots", () => {
  const dir = tempDirs("msb-local-root-")();
  mkdirSync(join(dir, "tree", "etc"), { recursive: true });
  writeFileSync(join(dir, "tree", "etc", "f"), Buffer.alloc(10_000));
  writeFileSync(join(dir, "disk.qcow2"), "");
  writeFileSync(join(dir, "disk.RAW"), "");
  writeFileSync(join(dir, "disk.vmdk"), "");

  it("tells host paths from image references", () => {
    for (const image of ["/srv/root", "./root", "../root.qcow2"]) expect(isLocalImage(image)).toBe(true);
    for (const image of ["alpine", "localhost:5000/a", ".hidden", "..x", "python:3.12"])
      expect(isLocalImage(image)).toBe(false);
  });

  it("resolves against the cwd and says what is there", () => {
    expect(resolveLocalImage("./tree", dir)).toEqual({ path: join(dir, "tree"), kind: "directory" });
    expect(resolveLocalImage("./disk.qcow2", dir)).toEqual({ path: join(dir, "disk.qcow2"), kind: "qcow2" });
    expect(resolveLocalImage(join(dir, "disk.RAW"), "/")).toEqual({
      path: join(dir, "disk.RAW"),
      kind: "raw",
    });
    expect(() => resolveLocalImage("./missing", dir)).toThrow(ImageNotFoundError);
    expect(() => resolveLocalImage("./disk.vmdk", dir)).toThrow(InvalidConfigError);
  });

  it("reads qemu-img info's format and backing file", () => {
    expect(parseImageInfo('{"format":"qcow2","virtual-size":1}')).toEqual({ format: "qcow2" });
    expect(parseImageInfo('{"format":"qcow2","backing-filename":"/b.raw"}')).toEqual({
      format: "qcow2",
      backing: "/b.raw",
    });
    expect(() => parseImageInfo("[]")).toThrow();
  });

  it("finds the ext4 magic at byte 1080", () => {
    const head = Buffer.alloc(2048);
    expect(hasExt4Magic(head)).toBe(false);
    head.writeUInt16LE(0xef53, 1080);
    expect(hasExt4Magic(head)).toBe(true);
    expect(hasExt4Magic(head.subarray(0, 1081))).toBe(false);
  });

  it("sizes a tree's filesystem with room to spare, in 4 MiB steps", () => {
    const layout = planTree(join(dir, "tree"));
    expect(layout.sizeBytes % (4 * 1024 * 1024)).toBe(0);
    expect(layout.sizeBytes).toBeGreaterThan(1024 * 1024 * 1024);
    expect(layout.inodes).toBeGreaterThanOrEqual(65_536);
  });
});
