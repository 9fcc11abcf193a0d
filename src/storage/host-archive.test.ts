import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pack } from "tar-stream";
import type { Pack } from "tar-stream";

type Header = Parameters<Pack["entry"]>[0];
import { describe, expect, it } from "vitest";
import { FsError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { extractArchive, packDirectory } from "./host-archive.js";

const scratch = tempDirs("msb-archive-", { after: "each" });

/** A tar stream of `entries` exactly as given (names are not normalised: a hostile guest's archive). */
function archive(entries: { header: Header; body?: string }[]): AsyncIterable<Buffer> {
  const p = pack();
  for (const e of entries) p.entry(e.header, e.body ?? "");
  p.finalize();
  return Readable.from(p as AsyncIterable<Buffer>);
}

async function refused(entries: { header: Header; body?: string }[], root: string): Promise<FsError> {
  const err = await extractArchive(archive(entries), root, { strip: 1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FsError);
  return err as FsError;
}

describe("extracting a guest's archive on the host", () => {
  it("extracts files, directories, symlinks inside, hard links, modes and mtimes", async () => {
    const root = join(scratch(), "out");
    const mtime = new Date("2024-01-02T03:04:05Z");
    await extractArchive(
      archive([
        { header: { name: "app", type: "directory", mode: 0o750, mtime } },
        { header: { name: "app/bin", type: "directory", mode: 0o755, mtime } },
        { header: { name: "app/bin/run", type: "file", mode: 0o755, mtime }, body: "#!/bin/sh\n" },
        { header: { name: "app/link", type: "symlink", linkname: "bin/run", mtime } },
        { header: { name: "app/hard", type: "link", linkname: "app/bin/run", mtime } },
      ]),
      root,
      { strip: 1 },
    );
    expect(readFileSync(join(root, "bin/run"), "utf8")).toBe("#!/bin/sh\n");
    expect(lstatSync(join(root, "bin/run")).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(root, "bin/run")).mtime.getTime()).toBe(mtime.getTime());
    expect(lstatSync(root).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(root, "bin")).mtime.getTime()).toBe(mtime.getTime());
    expect(readlinkSync(join(root, "link"))).toBe("bin/run");
    expect(lstatSync(join(root, "hard")).ino).toBe(lstatSync(join(root, "bin/run")).ino);
  });

  it("refuses '..' and absolute names and writes nothing outside", async () => {
    const base = scratch();
    const root = join(base, "out");
    for (const name of ["app/../../escape", "/etc/escape", "app/a/../../../escape"]) {
      const err = await refused([{ header: { name, type: "file" }, body: "x" }], root);
      expect(err.errno).toBe("EINVAL");
    }
    expect(existsSync(join(base, "escape"))).toBe(false);
  });

  it("refuses symlinks that lead out, and never writes through a symlink", async () => {
    const base = scratch();
    const root = join(base, "out");
    await refused([{ header: { name: "app/root", type: "symlink", linkname: "/" } }], root);
    await refused([{ header: { name: "app/up", type: "symlink", linkname: "../../" } }], root);
    // A symlink that stays inside, then a file through it: refused (parents must be real directories).
    const err = await refused(
      [
        { header: { name: "app/real", type: "directory" } },
        { header: { name: "app/alias", type: "symlink", linkname: "real" } },
        { header: { name: "app/alias/file", type: "file" }, body: "x" },
      ],
      join(base, "out2"),
    );
    expect(err.message).toMatch(/alias/);
    // A symlink already in the destination (the user's own) is not followed either.
    const outside = join(base, "outside");
    mkdirSync(outside);
    const root3 = join(base, "out3");
    mkdirSync(root3);
    symlinkSync(outside, join(root3, "evil"));
    await refused([{ header: { name: "app/evil/file", type: "file" }, body: "x" }], root3);
    await refused([{ header: { name: "app/evil", type: "file" }, body: "x" }], root3);
    expect(existsSync(join(outside, "file"))).toBe(false);
  });

  it("refuses devices, FIFOs and hard links to what is not a copied file", async () => {
    const root = join(scratch(), "out");
    await refused(
      [{ header: { name: "app/null", type: "character-device", devmajor: 1, devminor: 3 } }],
      root,
    );
    await refused([{ header: { name: "app/fifo", type: "fifo" } }], root);
    await refused([{ header: { name: "app/h", type: "link", linkname: "/etc/passwd" } }], root);
    await refused([{ header: { name: "app/h", type: "link", linkname: "app/missing" } }], root);
  });
});

describe("packing a host directory", () => {
  it("round-trips through the extractor", async () => {
    const src = scratch();
    mkdirSync(join(src, "sub"));
    writeFileSync(join(src, "sub", "data.bin"), Buffer.from([0, 1, 2, 255]), { mode: 0o640 });
    symlinkSync("sub/data.bin", join(src, "link"));
    const out = join(scratch(), "copy");
    let bytes = 0;
    await extractArchive(
      packDirectory(src, (n) => (bytes += n)),
      out,
      { strip: 0 },
    );
    expect([...readFileSync(join(out, "sub", "data.bin"))]).toEqual([0, 1, 2, 255]);
    expect(lstatSync(join(out, "sub", "data.bin")).mode & 0o777).toBe(0o640);
    expect(readlinkSync(join(out, "link"))).toBe("sub/data.bin");
    expect(bytes).toBe(4);
  });
});
