/**
 * The in-process qcow2 overlay (`image/rootfs/qcow2-overlay.ts`) checked by QEMU's own tools: `qemu-img check`
 * finds no error, `qemu-img info` reads the size, backing file and format written, reads fall through to the base
 * and writes go to the overlay only (`qemu-io`), for raw and qcow2 bases, absolute and relative names, and a size
 * whose L1 table spans more than one cluster.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RootfsBuildError } from "../../src/errors.js";
import { createOverlay } from "../../src/image/rootfs/overlay.js";
import { qcow2Overlay } from "../../src/image/rootfs/qcow2-overlay.js";

const dir = mkdtempSync(join(tmpdir(), "msb-qcow2-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const MIB = 1024 * 1024;

function qemuImg(...args: string[]): string {
  return execFileSync("qemu-img", args, { cwd: dir }).toString();
}

function info(path: string): Record<string, unknown> {
  return JSON.parse(qemuImg("info", "--output=json", path)) as Record<string, unknown>;
}

/** `qemu-io` commands on a qcow2 `path`; returns its output. */
function qemuIo(path: string, ...commands: string[]): string {
  const args = ["-f", "qcow2", ...commands.flatMap((c) => ["-c", c]), path];
  return execFileSync("qemu-io", args, { cwd: dir }).toString();
}

describe("qcow2 overlays written in-process", () => {
  const base = join(dir, "base.raw");
  const pattern = Buffer.alloc(4 * MIB, 0x5a);
  writeFileSync(base, pattern);

  it("over a raw base: clean, backed by it, reads through, writes its own", async () => {
    const path = join(dir, "over-raw.qcow2");
    await createOverlay({ base, path });
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
    expect(info(path)).toMatchObject({
      format: "qcow2",
      "virtual-size": 4 * MIB,
      "cluster-size": 65536,
      "backing-filename": base,
      "backing-filename-format": "raw",
    });
    expect(qemuIo(path, "read -P 0x5a 0 4M")).not.toMatch(/Pattern verification failed/);
    qemuIo(path, "write -P 0xa5 1M 64k");
    expect(qemuIo(path, "read -P 0xa5 1M 64k", "read -P 0x5a 0 1M")).not.toMatch(/verification failed/);
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
    expect(readFileSync(base).equals(pattern)).toBe(true); // the base is never written
  });

  it("over a qcow2 base, by a name relative to the overlay, with a size of its own", async () => {
    const middle = join(dir, "middle.qcow2");
    await createOverlay({ base, path: middle });
    const path = join(dir, "child.qcow2");
    await createOverlay({
      base: "middle.qcow2",
      baseFormat: "qcow2",
      relativeBase: true,
      virtualSizeBytes: 8 * MIB,
      path,
    });
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
    expect(info(path)).toMatchObject({
      "virtual-size": 8 * MIB,
      "backing-filename": "middle.qcow2",
      "backing-filename-format": "qcow2",
      "full-backing-filename": middle,
    });
    expect(qemuIo(path, "read -P 0x5a 0 4M")).not.toMatch(/verification failed/);
  });

  it("takes a qcow2 base's size from its header", async () => {
    const big = join(dir, "big.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", big, "3G");
    const path = join(dir, "over-big.qcow2");
    await createOverlay({ base: big, baseFormat: "qcow2", path });
    expect(info(path)).toMatchObject({ "virtual-size": 3 * 1024 * MIB });
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
  });

  it("spans the L1 table over several clusters for a large disk", () => {
    const path = join(dir, "huge.qcow2");
    const size = 5 * 1024 * 1024 * MIB; // 5 TiB: 10,240 L1 entries, two clusters
    writeFileSync(path, qcow2Overlay({ backingFile: base, backingFormat: "raw", virtualSizeBytes: size }));
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
    expect(info(path)).toMatchObject({ "virtual-size": size });
    qemuIo(path, "write -P 0x11 4T 64k");
    expect(qemuIo(path, "read -P 0x11 4T 64k")).not.toMatch(/verification failed/);
    expect(qemuImg("check", path)).toMatch(/No errors were found/);
    expect(statSync(path).size).toBeLessThan(2 * MIB);
  });

  it("refuses what qcow2 cannot hold, and a missing base, with a typed error and no file", async () => {
    expect(() =>
      qcow2Overlay({ backingFile: "x".repeat(1024), backingFormat: "raw", virtualSizeBytes: MIB }),
    ).toThrow(RangeError);
    expect(() => qcow2Overlay({ backingFile: base, backingFormat: "raw", virtualSizeBytes: 0 })).toThrow(
      RangeError,
    );
    const path = join(dir, "missing.qcow2");
    await expect(createOverlay({ base: join(dir, "nothing.raw"), path })).rejects.toBeInstanceOf(
      RootfsBuildError,
    );
    expect(() => statSync(path)).toThrow();
    expect(execFileSync("ls", [dir]).toString()).not.toMatch(/\.overlay/);
  });
});
