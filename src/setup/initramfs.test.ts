import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseNewc } from "./__fixtures__/cpio.js";
import { buildInitramfs, initrdFileName, initramfsEntries } from "./initramfs.js";

const contents = {
  init: Buffer.from("\x7fELF fake agent"),
  modules: [
    { fileName: "virtio.ko", data: Buffer.from("v") },
    { fileName: "virtio-rng.ko", data: Buffer.from("rng") },
  ],
};

describe("initramfs", () => {
  it("has the mount points, /dev/console, /init and the modules with their order", () => {
    const parsed = parseNewc(buildInitramfs(contents, "none"));
    const byName = new Map(parsed.map((e) => [e.name, e]));
    for (const dir of ["dev", "proc", "sys", "newroot", "tmp", "modules"]) {
      expect((byName.get(dir)?.mode ?? 0) & 0o170000).toBe(0o040000);
    }
    expect(byName.get("tmp")?.mode).toBe(0o041777);
    expect(byName.get("dev/console")).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1 });
    expect(byName.get("init")?.mode).toBe(0o100755);
    expect(byName.get("init")?.data.equals(contents.init)).toBe(true);
    expect(byName.get("modules/order")?.data.toString()).toBe("virtio.ko\nvirtio-rng.ko\n");
    expect(byName.get("modules/virtio-rng.ko")?.data.toString()).toBe("rng");
    expect(byName.get("modules/virtiofs.order")?.data.toString()).toBe("");
  });

  it("lists the virtio-fs modules apart, loaded on demand", () => {
    const parsed = parseNewc(
      buildInitramfs(
        {
          ...contents,
          virtiofsModules: [
            { fileName: "fuse.ko", data: Buffer.from("f") },
            { fileName: "virtiofs.ko", data: Buffer.from("vf") },
          ],
        },
        "none",
      ),
    );
    const byName = new Map(parsed.map((e) => [e.name, e]));
    expect(byName.get("modules/order")?.data.toString()).toBe("virtio.ko\nvirtio-rng.ko\n");
    expect(byName.get("modules/virtiofs.order")?.data.toString()).toBe("fuse.ko\nvirtiofs.ko\n");
    expect(byName.get("modules/virtiofs.ko")?.data.toString()).toBe("vf");
  });

  it("lists every parent directory before its children", () => {
    const names = initramfsEntries(contents).map((e) => e.path);
    names.forEach((name, i) => {
      const parent = name.split("/").slice(0, -1).join("/");
      if (parent !== "") expect(names.indexOf(parent)).toBeLessThan(i);
    });
  });

  it("gzip output decompresses to the same archive", () => {
    const raw = buildInitramfs(contents, "none");
    const gz = buildInitramfs(contents, "gzip");
    expect(gz[0]).toBe(0x1f);
    expect(gunzipSync(gz).equals(raw)).toBe(true);
    expect(initrdFileName("gzip")).toBe("initramfs.cpio.gz");
    expect(initrdFileName("none")).toBe("initramfs.cpio");
  });
});
