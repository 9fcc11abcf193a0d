import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import type { TarHeader } from "../tar/parser.js";
import { LayerApplier, stagedMode } from "./apply-layer.js";
import { TreeError } from "./tree.js";

function header(name: string, fields: Partial<TarHeader> = {}): TarHeader {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1_700_000_000,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...fields,
  };
}

const tempDir = tempDirs("msb-apply-");

function applier(): { a: LayerApplier; staging: string } {
  const staging = tempDir();
  return { a: new LayerApplier({ staging }), staging };
}

function file(a: LayerApplier, name: string, content: string, fields: Partial<TarHeader> = {}): void {
  const sink = a.entry(header(name, { size: Buffer.byteLength(content), ...fields }));
  sink?.data(Buffer.from(content));
  sink?.end();
}

describe("LayerApplier", () => {
  it("applies whiteouts and opaque directories to lower layers only", () => {
    const { a, staging } = applier();
    a.beginLayer();
    a.entry(header("etc/", { type: "directory" }));
    file(a, "etc/keep", "k");
    file(a, "etc/gone", "g");
    a.entry(header("opq/", { type: "directory", mode: 0o711 }));
    file(a, "opq/lower", "l");
    a.entry(header("opq/sub/", { type: "directory" }));
    file(a, "opq/sub/deep", "d");
    a.beginLayer();
    a.entry(header("etc/.wh.gone"));
    file(a, "opq/upper", "u");
    a.entry(header("opq/sub/", { type: "directory" })); // re-declared in this layer: kept, but its lower content goes
    a.entry(header("opq/.wh..wh..opq"));
    a.entry(header("etc/.wh..wh.plnk")); // aufs internals are ignored
    a.finish();
    expect([...a.tree.entries()].map(([p]) => p).sort()).toEqual([
      "",
      "etc",
      "etc/keep",
      "opq",
      "opq/sub",
      "opq/upper",
    ]);
    expect(existsSync(join(staging, "etc/gone"))).toBe(false);
    expect(existsSync(join(staging, "opq/sub/deep"))).toBe(false);
    expect(a.tree.get("opq")?.mode).toBe(0o711);
  });

  it("keeps hard links (also across layers) as one inode, and replacing one name leaves the other", () => {
    const { a, staging } = applier();
    a.beginLayer();
    file(a, "a", "shared", { uid: 5 });
    a.beginLayer();
    a.entry(header("b", { type: "hardlink", linkname: "a" }));
    expect(a.tree.get("a")).toBe(a.tree.get("b"));
    expect(lstatSync(join(staging, "a")).ino).toBe(lstatSync(join(staging, "b")).ino);
    a.beginLayer();
    file(a, "a", "new");
    expect(a.tree.get("a")).not.toBe(a.tree.get("b"));
    expect(readFileSync(join(staging, "b"), "utf8")).toBe("shared");
  });

  it("resolves symlinked parent directories inside the tree, never on the host", () => {
    const { a, staging } = applier();
    a.beginLayer();
    a.entry(header("real/", { type: "directory" }));
    a.entry(header("link", { type: "symlink", linkname: "/real" }));
    a.entry(header("up", { type: "symlink", linkname: "../../../.." }));
    file(a, "link/inside", "x");
    file(a, "up/top", "y");
    expect(a.tree.get("real/inside")?.kind).toBe("file");
    expect(a.tree.get("top")?.kind).toBe("file");
    expect(readlinkSync(join(staging, "link"))).toBe("/real");
  });

  it("creates missing parents, replaces a file by a directory, keeps devices out of staging", () => {
    const { a, staging } = applier();
    a.beginLayer();
    file(a, "x", "file first");
    a.entry(header("deep/er/dev", { type: "char", devmajor: 1, devminor: 3, mode: 0o666 }));
    a.beginLayer();
    a.entry(header("x/", { type: "directory", mode: 0o700 }));
    a.finish();
    expect(a.tree.get("deep/er")?.kind).toBe("directory");
    expect(a.tree.get("deep/er/dev")?.rdev).toEqual({ major: 1, minor: 3 });
    expect(existsSync(join(staging, "deep/er/dev"))).toBe(false);
    expect(lstatSync(join(staging, "x")).isDirectory()).toBe(true);
  });

  it("stages modes the user can read, and leaves special bits to debugfs", () => {
    const { a, staging } = applier();
    a.beginLayer();
    file(a, "suid", "x", { mode: 0o4755 });
    file(a, "none", "x", { mode: 0o000 });
    a.entry(header("ro/", { type: "directory", mode: 0o555 }));
    a.finish();
    expect(lstatSync(join(staging, "suid")).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(staging, "none")).mode & 0o7777).toBe(0o600);
    expect(lstatSync(join(staging, "ro")).mode & 0o7777).toBe(0o755);
    expect(stagedMode({ kind: "directory", mode: 0o1777 })).toBe(0o777);
    expect(lstatSync(join(staging, "suid")).mtimeMs).toBe(1_700_000_000_000);
  });

  it.each([
    ["../x", header("../x")],
    ["a/../../x", header("a/../../x")],
    ["newline", header("a\nb")],
    ["hard link to a missing file", header("h", { type: "hardlink", linkname: "nope" })],
    ["hard link to a directory", header("h", { type: "hardlink", linkname: "" })],
  ])("rejects %s", (_name, h) => {
    const { a } = applier();
    a.beginLayer();
    expect(() => a.entry(h)).toThrow(TreeError);
  });

  it("rejects a short file body", () => {
    const { a } = applier();
    a.beginLayer();
    const sink = a.entry(header("f", { size: 10 }));
    sink?.data(Buffer.from("abc"));
    expect(() => sink?.end()).toThrow(/3 bytes written, 10 expected/);
  });
});
