import { describe, expect, it } from "vitest";
import { debugfsScript, encodeDevice, quote } from "./debugfs-script.js";
import { FsTree } from "./tree.js";

const meta = { uid: 0, gid: 0, mtime: 1_700_000_000, size: 0, xattrs: new Map<string, Buffer>() };

describe("debugfsScript", () => {
  it("quotes paths the way debugfs parses them", () => {
    expect(quote('/a "b" c')).toBe('"/a ""b"" c"');
  });

  it("encodes large device numbers as Linux new_encode_dev", () => {
    expect(encodeDevice(259, 70000)).toBe(0x11110370);
    expect(encodeDevice(1, 3)).toBe(0x103);
  });

  it("writes only what differs from staging, devices with mknod, xattrs from files, and drops lost+found", () => {
    const tree = new FsTree({ ...meta, mode: 0o755 });
    tree.create("bin", { ...meta, kind: "directory", mode: 0o755 });
    tree.create("bin/sh", {
      ...meta,
      kind: "file",
      mode: 0o4755,
      uid: 1000,
      size: 3,
      xattrs: new Map([
        ["security.capability", Buffer.from([1, 2])],
        ["com.apple.x", Buffer.from("no")],
      ]),
    });
    const same = tree.create("bin/same", { ...meta, kind: "file", mode: 0o644 });
    tree.link("bin/same2", same);
    tree.create("bin/null", { ...meta, kind: "char", mode: 0o666, rdev: { major: 1, minor: 3 } });
    tree.create("bin/big", { ...meta, kind: "block", mode: 0o600, rdev: { major: 259, minor: 70000 } });
    const script = debugfsScript(tree, {
      valueDir: "/v",
      hasLostFound: false,
      staged: (path) =>
        path === ""
          ? { uid: -1, gid: -1, mode: -1 }
          : { uid: 0, gid: 0, mode: path === "bin/sh" ? 0o755 : 0o644 },
    });
    const lines = script.text.trim().split("\n");
    expect(lines).toContain('sif "/" mode 040755');
    expect(lines).toContain('sif "/bin" mode 040755'); // staged as 0644 in this fake: fixed
    expect(lines).toContain('sif "/bin/sh" uid 1000');
    expect(lines).toContain('sif "/bin/sh" mode 0104755');
    expect(lines).not.toContain('sif "/bin/sh" gid 0');
    expect(lines.filter((l) => l.includes("/bin/same"))).toEqual([]);
    expect(lines).toContain('mknod "null" c 1 3');
    expect(lines).toContain('sif "/bin/null" mode 020666');
    expect(lines).toContain(`sif "/bin/big" block[1] ${String(0x11110370)}`);
    expect(lines).toContain('ea_set -f "/v/v0" "/bin/sh" security.capability');
    expect(script.valueFiles).toEqual(new Map([["v0", Buffer.from([1, 2])]]));
    expect(lines.at(-1)).toBe('rmdir "/lost+found"');
  });
});
