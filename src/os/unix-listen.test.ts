import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "./temp-dirs.fixture.js";
import { listensIn, unixSocketListens } from "./unix-listen.js";

const TABLE = [
  "Num       RefCount Protocol Flags    Type St Inode Path",
  "00000000314cf80c: 00000003 00000000 00000000 0001 03  1081",
  "000000007e1765eb: 00000002 00000000 00010000 0001 01 593466 /tmp/ul test.sock",
  "000000007e1765ec: 00000002 00000000 00000000 0001 01 593467 /tmp/bound-only.sock",
  "000000007e1765ed: 00000002 00000000 00010000 0001 01 593468 @abstract",
  "",
].join("\n");

describe("listensIn", () => {
  it("finds a listening socket by its whole path, spaces included", () => {
    expect(listensIn(TABLE, "/tmp/ul test.sock")).toBe(true);
    expect(listensIn(TABLE, "/tmp/ul")).toBe(false);
    expect(listensIn(TABLE, "test.sock")).toBe(false);
  });

  it("does not count a socket that is bound but not listening", () => {
    expect(listensIn(TABLE, "/tmp/bound-only.sock")).toBe(false);
  });

  it("ignores unnamed sockets, the header and garbage", () => {
    expect(listensIn(TABLE, "")).toBe(false);
    expect(listensIn("Num RefCount\nnot a line\n", "/x")).toBe(false);
  });
});

describe("unixSocketListens", () => {
  const tempDir = tempDirs("msb-ul-", { after: "each" });

  it("follows a real listener from listen to close", async () => {
    const dir = tempDir();
    const path = join(dir, "a b.sock");
    expect(unixSocketListens(path)).toBe(false);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    expect(unixSocketListens(path)).toBe(true);
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    expect(unixSocketListens(path)).toBe(false);
  });
});
