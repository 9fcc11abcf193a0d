import { describe, expect, it } from "vitest";
import { parseNewc } from "./__fixtures__/cpio.js";
import { NEWC_TRAILER, writeNewcArchive, type CpioEntry } from "./cpio.js";

describe("writeNewcArchive", () => {
  const entries: CpioEntry[] = [
    { kind: "directory", path: "dev", mode: 0o755 },
    { kind: "chardev", path: "/dev/console", mode: 0o600, major: 5, minor: 1 },
    { kind: "file", path: "init", mode: 0o755, data: Buffer.from("#!/bin/sh\n") },
    { kind: "file", path: "odd", mode: 0o644, data: Buffer.from("abcde") },
    { kind: "file", path: "empty", mode: 0o600, data: new Uint8Array() },
    { kind: "symlink", path: "sh", target: "busybox" },
  ];

  it("writes aligned headers and data, and ends with the trailer", () => {
    const parsed = parseNewc(writeNewcArchive(entries));
    expect(parsed.map((e) => e.name)).toEqual([
      "dev",
      "dev/console",
      "init",
      "odd",
      "empty",
      "sh",
      NEWC_TRAILER,
    ]);
    expect(parsed.at(-1)).toMatchObject({ ino: 0, mode: 0, nlink: 1 });
  });

  it("stores type bits, permissions, owners, links and device numbers", () => {
    const [dev, console, init, odd, empty, sh] = parseNewc(writeNewcArchive(entries, 1234));
    expect(dev).toMatchObject({ mode: 0o040755, nlink: 2, uid: 0, gid: 0, mtime: 1234 });
    expect(console).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1, nlink: 1 });
    expect(console?.data.length).toBe(0);
    expect(init).toMatchObject({ mode: 0o100755 });
    expect(init?.data.toString()).toBe("#!/bin/sh\n");
    expect(odd?.data.toString()).toBe("abcde");
    expect(empty).toMatchObject({ mode: 0o100600 });
    expect(sh).toMatchObject({ mode: 0o120777 });
    expect(sh?.data.toString()).toBe("busybox");
  });

  it("numbers inodes uniquely from 1", () => {
    const inos = parseNewc(writeNewcArchive(entries))
      .slice(0, -1)
      .map((e) => e.ino);
    expect(inos).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("writes a lone trailer for an empty archive", () => {
    expect(parseNewc(writeNewcArchive([])).map((e) => e.name)).toEqual([NEWC_TRAILER]);
  });
});
