/**
 * `sandbox.fs()` and `msb cp` against a real VM: the seed's methods and semantics, streams of 1 GB with bounded
 * memory, atomic writes, large listings, errno codes, the user option, and copies of whole trees both ways
 * that never write outside the host destination.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsError, Sandbox } from "../../src/index.js";
import type { SandboxFs } from "../../src/index.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();
let box: Sandbox | undefined;
const sandbox = (): Sandbox => {
  if (box === undefined) throw new Error("no sandbox");
  return box;
};
const fs = (): SandboxFs => sandbox().fs();
const host = mkdtempSync(join(tmpdir(), "msb-fs-test-"));

beforeAll(async () => {
  // 3 GiB so that /tmp (a tmpfs of half the memory) holds the 1 GB file; untouched guest memory costs nothing.
  box = await Sandbox.create({ name: "files", image: "alpine:latest", memoryMib: 3072 });
}, 180_000);
afterAll(async () => {
  await box?.stopAndWait();
  rmSync(host, { recursive: true, force: true });
});

async function errnoOf(run: Promise<unknown>): Promise<string> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FsError);
  return (err as FsError).errno;
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) * 1024;
}

describe("the seed's SandboxFs", () => {
  it("writes (parents created) and reads back text and every byte value", async () => {
    await fs().write("/tmp/a/b/c/hello.txt", "hello, world");
    expect(await fs().readString("/tmp/a/b/c/hello.txt")).toBe("hello, world");
    const bytes = Buffer.from([...Array(256).keys()]);
    await fs().write("/tmp/bytes.bin", bytes);
    expect((await fs().read("/tmp/bytes.bin")).equals(bytes)).toBe(true);
    expect((await sandbox().shell("cat /tmp/a/b/c/hello.txt")).stdout()).toBe("hello, world");
  });

  it("lists, stats, checks existence, makes and removes directories", async () => {
    await fs().mkdir("/tmp/tree/x/y");
    await fs().write("/tmp/tree/file", "12345", { mode: 0o640 });
    await sandbox().shell("ln -s file /tmp/tree/link");
    const entries = await fs().list("/tmp/tree");
    expect(entries.map((e) => [e.path, e.kind]).sort()).toEqual([
      ["/tmp/tree/file", "file"],
      ["/tmp/tree/link", "symlink"],
      ["/tmp/tree/x", "directory"],
    ]);
    const file = entries.find((e) => e.path === "/tmp/tree/file");
    expect(file).toMatchObject({ size: 5, mode: 0o640 });
    expect(Math.abs((file?.modified ?? 0) - Date.now())).toBeLessThan(120_000);
    expect(await fs().stat("/tmp/tree/file")).toMatchObject({
      kind: "file",
      size: 5,
      mode: 0o640,
      readonly: false,
    });
    expect(await fs().stat("/tmp/tree/link")).toMatchObject({ kind: "symlink", target: "file" });
    expect(await fs().exists("/tmp/tree/x/y")).toBe(true);
    expect(await fs().exists("/tmp/tree/nope")).toBe(false);
    await fs().mkdir("/tmp/tree/x/y"); // an existing directory is fine
    await fs().removeDir("/tmp/tree/x");
    expect(await fs().exists("/tmp/tree/x")).toBe(false);
    await fs().remove("/tmp/tree/link");
    expect(await fs().exists("/tmp/tree/file")).toBe(true);
  });

  it("copies and renames inside the guest (parents created)", async () => {
    await fs().write("/tmp/orig.txt", "data", { mode: 0o600 });
    await fs().copy("/tmp/orig.txt", "/tmp/copies/deep/copy.txt");
    expect(await fs().readString("/tmp/copies/deep/copy.txt")).toBe("data");
    expect((await fs().stat("/tmp/copies/deep/copy.txt")).mode).toBe(0o600);
    await fs().rename("/tmp/copies/deep/copy.txt", "/tmp/moved/here.txt");
    expect(await fs().exists("/tmp/copies/deep/copy.txt")).toBe(false);
    expect(await fs().readString("/tmp/moved/here.txt")).toBe("data");
  });

  it("handles unicode and space-filled names", async () => {
    const path = "/tmp/ünï cødé/file with spaces ✓.txt";
    await fs().write(path, "ok");
    expect(await fs().readString(path)).toBe("ok");
    expect((await fs().list("/tmp/ünï cødé")).map((e) => e.path)).toEqual([path]);
  });

  it("reports the guest's errno for each failure", async () => {
    await fs().write("/tmp/plain", "x");
    expect(await errnoOf(fs().read("/tmp/missing"))).toBe("ENOENT");
    expect(await errnoOf(fs().read("/tmp"))).toBe("EISDIR");
    expect(await errnoOf(fs().write("/tmp/plain/child", "x"))).toBe("ENOTDIR");
    expect(await errnoOf(fs().mkdir("/tmp/plain"))).toBe("EEXIST");
    expect(await errnoOf(fs().list("/tmp/plain"))).toBe("ENOTDIR");
    expect(await errnoOf(fs().remove("/tmp/a"))).toMatch(/ENOTEMPTY|EISDIR/);
    expect(await errnoOf(fs().copy("/tmp/a", "/tmp/a2"))).toBe("EISDIR");
    expect(await errnoOf(sandbox().fs({ user: "nobody" }).write("/root/x", "x"))).toBe("EACCES");
    await sandbox().shell("mkdir -p /mnt/small && mount -t tmpfs -o size=1m tmpfs /mnt/small");
    expect(await errnoOf(fs().write("/mnt/small/big", randomBytes(2 * 1024 * 1024)))).toBe("ENOSPC");
    const err = await fs()
      .read("/tmp/missing")
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MSB_ERR_FS", errno: "ENOENT", path: "/tmp/missing" });
  });

  it("runs as another user when asked", async () => {
    const asNobody = sandbox().fs({ user: "nobody" });
    await asNobody.write("/tmp/owned-by-nobody", "x");
    expect(await fs().stat("/tmp/owned-by-nobody")).toMatchObject({ uid: 65534 });
    await fs().write("/tmp/secret", "s", { mode: 0o600 });
    expect(await errnoOf(asNobody.read("/tmp/secret"))).toBe("EACCES");
    expect((await asNobody.stat("/tmp/secret")).readonly).toBe(true); // readonly is the user's view
    expect((await fs().stat("/tmp/secret")).readonly).toBe(false);
  });
});

describe("streams", () => {
  it("writes and reads back 1 GB with sha256 equal and bounded memory", async () => {
    const total = 1024 * 1024 * 1024;
    const supervisorPid = (await Sandbox.get("files")).record.supervisorPid ?? 0;
    const before = { sdk: process.memoryUsage().rss, sup: rssOf(supervisorPid) };
    let peak = { ...before };
    const sample = (): void => {
      peak = {
        sdk: Math.max(peak.sdk, process.memoryUsage().rss),
        sup: Math.max(peak.sup, rssOf(supervisorPid)),
      };
    };
    const block = randomBytes(1024 * 1024);
    const sent = createHash("sha256");
    function* source(): Generator<Buffer> {
      for (let i = 0; i < total / block.length; i++) {
        block.writeUInt32BE(i, 0); // every MiB differs
        sent.update(block);
        if (i % 64 === 0) sample();
        yield Buffer.from(block);
      }
    }
    await pipeline(Readable.from(source()), fs().writeStream("/tmp/big.bin"));
    expect((await fs().stat("/tmp/big.bin")).size).toBe(total);
    const received = createHash("sha256");
    let n = 0;
    for await (const chunk of fs().readStream("/tmp/big.bin")) {
      received.update(chunk as Buffer);
      if (++n % 64 === 0) sample();
    }
    expect(received.digest("hex")).toBe(sent.digest("hex"));
    const mib = (x: number): string => (x / (1 << 20)).toFixed(1);
    console.log(
      `1 GB through fs: SDK rss +${mib(peak.sdk - before.sdk)} MiB, supervisor +${mib(peak.sup - before.sup)} MiB`,
    );
    expect(peak.sdk - before.sdk).toBeLessThan(128 * 1024 * 1024);
    expect(peak.sup - before.sup).toBeLessThan(64 * 1024 * 1024);
    await fs().remove("/tmp/big.bin");
  }, 900_000);

  it("reads a byte range", async () => {
    await fs().write("/tmp/range", "0123456789");
    const chunks: Buffer[] = [];
    for await (const c of fs().readStream("/tmp/range", { start: 2, end: 5 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("2345");
  });

  it("leaves the old file intact when a write is interrupted half-way", async () => {
    await fs().write("/tmp/precious", "old contents");
    const sink = fs().writeStream("/tmp/precious");
    await new Promise<void>((resolve, reject) => {
      sink.write(randomBytes(3 * 1024 * 1024), (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
    sink.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await fs().readString("/tmp/precious")).toBe("old contents");
    const leftovers = (await fs().list("/tmp")).filter((e) => e.path.includes("precious"));
    expect(leftovers.map((e) => e.path)).toEqual(["/tmp/precious"]);
    const stats = await sandbox().debugStats();
    expect(stats.streams).toBe(0);
  });

  it("lists a directory of 100,000 entries", async () => {
    await sandbox().shell("mkdir -p /tmp/many && cd /tmp/many && seq 1 100000 | xargs touch");
    let count = 0;
    const seen = new Set<string>();
    for await (const entry of fs().entries("/tmp/many")) {
      count++;
      if (count % 9973 === 0) seen.add(entry.path);
    }
    expect(count).toBe(100_000);
    expect([...seen].every((p) => /^\/tmp\/many\/\d+$/.test(p))).toBe(true);
    expect((await fs().list("/tmp/many")).length).toBe(100_000);
  }, 300_000);
});

describe("copies between host and guest", () => {
  it("copies a directory tree both ways with modes, symlinks and mtimes", async () => {
    const src = join(host, "src");
    mkdirSync(join(src, "lib", "deep"), { recursive: true });
    writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    writeFileSync(join(src, "lib", "deep", "data.bin"), randomBytes(300_000), { mode: 0o600 });
    symlinkSync("lib/deep/data.bin", join(src, "link"));
    await fs().copyFromHost(src, "/opt/app");
    expect((await sandbox().shell("/opt/app/run.sh")).stdout()).toBe("hi\n");
    expect(await fs().stat("/opt/app/link")).toMatchObject({ kind: "symlink", target: "lib/deep/data.bin" });
    expect((await fs().stat("/opt/app/lib/deep/data.bin")).mode).toBe(0o600);
    // Into an existing directory, as docker cp does.
    await fs().copyFromHost(src, "/opt/app");
    expect(await fs().exists("/opt/app/src/run.sh")).toBe(true);

    const back = join(host, "back");
    await fs().copyToHost("/opt/app", back);
    expect(
      readFileSync(join(back, "lib", "deep", "data.bin")).equals(
        readFileSync(join(src, "lib", "deep", "data.bin")),
      ),
    ).toBe(true);
    expect(lstatSync(join(back, "run.sh")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(back, "link"))).toBe("lib/deep/data.bin");
    expect(
      Math.abs(lstatSync(join(back, "run.sh")).mtimeMs - lstatSync(join(src, "run.sh")).mtimeMs),
    ).toBeLessThan(1000);
    // A single file into a host directory keeps its name.
    await fs().copyToHost("/opt/app/run.sh", host);
    expect(readFileSync(join(host, "run.sh"), "utf8")).toBe("#!/bin/sh\necho hi\n");
  });

  it("never writes outside the host destination for a hostile guest directory", async () => {
    await sandbox().shell("mkdir -p /tmp/hostile && ln -s / /tmp/hostile/root && echo x > /tmp/hostile/file");
    const dest = join(host, "hostile-dest");
    const err = await fs()
      .copyToHost("/tmp/hostile", dest)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).message).toMatch(/leads out of the destination/);
    expect(existsSync(join(dest, "root"))).toBe(false);
  });
});

describe("msb cp", () => {
  function msb(...args: string[]): Promise<{ code: number | null; stderr: string }> {
    // From the host scratch directory (relative paths), so tsx is named by its path, not resolved from cwd.
    const tsx = pathToFileURL(join(repoRoot, "node_modules/tsx/dist/loader.mjs")).href;
    const child = spawn(process.execPath, ["--import", tsx, join(repoRoot, "src/cli/msb.ts"), ...args], {
      cwd: host,
      env: process.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) =>
      child.once("close", (code) => {
        resolve({ code, stderr });
      }),
    );
  }

  it("copies both ways like docker cp", async () => {
    mkdirSync(join(host, "cli-src", "sub"), { recursive: true });
    writeFileSync(join(host, "cli-src", "sub", "f.txt"), "from the host");
    expect(await msb("cp", "./cli-src", "files:/srv")).toMatchObject({ code: 0 });
    expect(await fs().readString("/srv/sub/f.txt")).toBe("from the host");
    await fs().write("/srv/out.log", "from the guest");
    expect(await msb("cp", "files:/srv/out.log", ".")).toMatchObject({ code: 0 });
    expect(readFileSync(join(host, "out.log"), "utf8")).toBe("from the guest");
    expect(await msb("cp", "files:/srv", "./srv-copy")).toMatchObject({ code: 0 });
    expect(readdirSync(join(host, "srv-copy")).sort()).toEqual(["out.log", "sub"]);
    const missing = await msb("cp", "files:/nope", ".");
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/ENOENT/);
  });
});
