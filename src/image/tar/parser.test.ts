import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeTar, type TarEntrySpec } from "../../../test/fixtures/registry/tar-writer.js";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { TarFormatError, TarParser, type TarHeader } from "./parser.js";

interface Parsed {
  header: TarHeader;
  body: Buffer;
}

function parse(archive: Buffer, chunkSize = archive.length): Parsed[] {
  const out: Parsed[] = [];
  const parser = new TarParser((header) => {
    const chunks: Buffer[] = [];
    const entry = { header, body: Buffer.alloc(0) };
    out.push(entry);
    return {
      data: (c) => chunks.push(Buffer.from(c)),
      end: () => {
        entry.body = Buffer.concat(chunks);
      },
    };
  });
  for (let i = 0; i < archive.length; i += chunkSize) parser.write(archive.subarray(i, i + chunkSize));
  parser.end();
  return out;
}

describe("TarParser", () => {
  const makeDir = tempDirs("tar-gnu-", { after: "each" });

  const cap = Buffer.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const longName = `${"deep/".repeat(40)}file.txt`;
  const entries: TarEntrySpec[] = [
    { path: "bin", type: "dir", mode: 0o755 },
    {
      path: "bin/tool",
      type: "file",
      mode: 0o4755,
      uid: 0,
      gid: 0,
      content: "x".repeat(1000),
      xattrs: { "security.capability": cap, "user.note": "héllo" },
    },
    { path: "bin/link", type: "hardlink", target: "bin/tool" },
    { path: "bin/sym", type: "symlink", target: "tool" },
    { path: "dev/null", type: "char", mode: 0o666, devmajor: 1, devminor: 3 },
    { path: "dev/sda", type: "block", mode: 0o660, gid: 6, devmajor: 8, devminor: 0 },
    { path: "run/fifo", type: "fifo", mode: 0o600 },
    { path: "home/user", type: "dir", mode: 0o750, uid: 100000, gid: 3_000_000 },
    { path: longName, type: "file", content: "long" },
    { path: "sym-long", type: "symlink", target: `/${"t".repeat(150)}` },
    { path: "empty", type: "file", content: "" },
  ];
  const archive = writeTar(entries);

  it("decodes every entry type, pax overrides and binary xattrs, whatever the chunking", () => {
    for (const chunkSize of [archive.length, 512, 100, 7, 1]) {
      const parsed = parse(archive, chunkSize);
      expect(parsed.map((p) => [p.header.name, p.header.type])).toEqual([
        ["bin/", "directory"],
        ["bin/tool", "file"],
        ["bin/link", "hardlink"],
        ["bin/sym", "symlink"],
        ["dev/null", "char"],
        ["dev/sda", "block"],
        ["run/fifo", "fifo"],
        ["home/user/", "directory"],
        [longName, "file"],
        ["sym-long", "symlink"],
        ["empty", "file"],
      ]);
      const tool = parsed[1];
      expect(tool?.header.mode).toBe(0o4755);
      expect(tool?.body.toString()).toBe("x".repeat(1000));
      expect(tool?.header.xattrs.get("security.capability")).toEqual(cap);
      expect(tool?.header.xattrs.get("user.note")?.toString()).toBe("héllo");
      expect(parsed[2]?.header.linkname).toBe("bin/tool");
      expect(parsed[4]?.header).toMatchObject({ devmajor: 1, devminor: 3, mode: 0o666 });
      expect(parsed[7]?.header).toMatchObject({ uid: 100000, gid: 3_000_000, mode: 0o750 });
      expect(parsed[8]?.body.toString()).toBe("long");
      expect(parsed[9]?.header.linkname).toBe(`/${"t".repeat(150)}`);
    }
  });

  it("rejects a corrupted header and a truncated archive", () => {
    const bad = Buffer.from(archive);
    bad[10] = (bad[10] ?? 0) ^ 0xff;
    expect(() => parse(bad)).toThrow(TarFormatError);
    const toolData = archive.indexOf("xxxx");
    expect(() => parse(archive.subarray(0, toolData + 10))).toThrow(/truncated/);
  });

  it("bounds extended headers", () => {
    const big = writeTar([
      { path: "f", type: "file", xattrs: { "user.big": Buffer.alloc(2 * 1024 * 1024) } },
    ]);
    expect(() => parse(big)).toThrow(/exceeds the limit/);
  });

  it("reads GNU tar's own archives (gnu format: base-256 ids, long names)", () => {
    const dir = makeDir();
    const root = join(dir, "root");
    mkdirSync(join(root, "a".repeat(120)), { recursive: true });
    writeFileSync(join(root, "a".repeat(120), "f"), "data");
    linkSync(join(root, "a".repeat(120), "f"), join(root, "hard"));
    symlinkSync("a".repeat(120), join(root, "s"));
    const out = join(dir, "x.tar");
    execFileSync("tar", [
      "--format=gnu",
      "--owner=:3000000",
      "--group=:7",
      "--sort=name",
      "-C",
      root,
      "-cf",
      out,
      ".",
    ]);
    const parsed = parse(readFileSync(out));
    const names = parsed.map((p) => `${p.header.name}:${p.header.type}:${p.header.uid}:${p.header.gid}`);
    expect(names).toContain(`./${"a".repeat(120)}/f:file:3000000:7`);
    expect(names).toContain("./hard:hardlink:3000000:7");
    expect(parsed.find((p) => p.header.name === "./s")?.header.linkname).toBe("a".repeat(120));
  });
});
