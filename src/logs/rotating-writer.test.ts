import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { followLog } from "./follow.js";
import { JsonLogger } from "./logger.js";
import { readLog, tailLines } from "./read.js";
import { RotatingWriter, rotatedPath } from "./rotating-writer.js";

let dir: string;
const makeDir = tempDirs("msb-logs-", { after: "each" });
beforeEach(() => {
  dir = makeDir();
});

function totalBytes(): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

describe("RotatingWriter", () => {
  it("keeps every file within maxBytes and at most `files` files", () => {
    const path = join(dir, "main.log");
    const log = new RotatingWriter(path, { maxBytes: 100, files: 3 });
    for (let i = 0; i < 1000; i++) log.write(`line ${i}\n`);
    log.close();
    expect(readdirSync(dir).sort()).toEqual(["main.log", "main.log.1", "main.log.2"]);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(100);
    expect(totalBytes()).toBeLessThanOrEqual(300);
    // The newest lines survive, in order, and no line is split across files.
    const text = readLog(path);
    expect(text.endsWith("line 999\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    const numbers = lines.map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
    expect(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] ?? 0) + 1)).toBe(true);
  });

  it("with files: 1 keeps only the live file", () => {
    const path = join(dir, "x.log");
    const log = new RotatingWriter(path, { maxBytes: 10, files: 1 });
    log.write("0123456789");
    log.write("abc");
    log.close();
    expect(readdirSync(dir)).toEqual(["x.log"]);
    expect(readFileSync(path, "utf8")).toBe("abc");
  });

  it("splits a write larger than the bound and keeps only its last maxBytes × files bytes", () => {
    const path = join(dir, "big.log");
    const log = new RotatingWriter(path, { maxBytes: 10, files: 3 });
    log.write("old\n");
    const big = Buffer.from(
      Array.from({ length: 95 }, (_, i) => String.fromCharCode(65 + (i % 26))).join(""),
    );
    log.write(big);
    log.close();
    expect(totalBytes()).toBe(30);
    expect(readLog(path)).toBe(big.subarray(big.length - 30).toString());
    for (const n of [0, 1, 2]) expect(statSync(rotatedPath(path, n)).size).toBe(10);
  });

  it("rotates a write that does not fit the room left, without splitting it", () => {
    const path = join(dir, "s.log");
    const log = new RotatingWriter(path, { maxBytes: 10, files: 2 });
    log.write("12345678");
    log.write("abcd");
    log.close();
    expect(readFileSync(rotatedPath(path, 1), "utf8")).toBe("12345678");
    expect(readFileSync(path, "utf8")).toBe("abcd");
  });

  it("appends to an existing file and counts its size", () => {
    const path = join(dir, "a.log");
    writeFileSync(path, "123456");
    const log = new RotatingWriter(path, { maxBytes: 8, files: 2 });
    expect(log.size).toBe(6);
    log.write("78");
    log.write("9");
    log.close();
    expect(readFileSync(rotatedPath(path, 1), "utf8")).toBe("12345678");
    expect(readFileSync(path, "utf8")).toBe("9");
  });

  it("keeps concurrent appends whole and in call order", async () => {
    const path = join(dir, "c.log");
    const log = new RotatingWriter(path, { maxBytes: 4096, files: 4 });
    const writer = async (id: number): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        log.write(`${id}:${i}:${"x".repeat(20)}\n`);
        await Promise.resolve();
      }
    };
    await Promise.all([0, 1, 2, 3, 4].map(writer));
    log.close();
    expect(totalBytes()).toBeLessThanOrEqual(4 * 4096);
    const lines = readLog(path).trimEnd().split("\n");
    const last = new Map<number, number>();
    for (const line of lines) {
      const m = /^(\d):(\d+):x{20}$/.exec(line);
      expect(m).not.toBeNull();
      const id = Number(m?.[1]);
      const i = Number(m?.[2]);
      if (last.has(id)) expect(i).toBe((last.get(id) ?? 0) + 1);
      last.set(id, i);
    }
    for (const id of [0, 1, 2, 3, 4]) expect(last.get(id)).toBe(199);
  });

  it("refuses bad limits and writes after close", () => {
    expect(() => new RotatingWriter(join(dir, "b"), { maxBytes: 0, files: 1 })).toThrow(RangeError);
    expect(() => new RotatingWriter(join(dir, "b"), { maxBytes: 1, files: 0 })).toThrow(RangeError);
    const log = new RotatingWriter(join(dir, "c"), { maxBytes: 10, files: 1 });
    log.close();
    log.close();
    expect(() => {
      log.write("x");
    }).toThrow(/closed/);
  });
});

describe("tailLines", () => {
  it("keeps the last n lines", () => {
    expect(tailLines("a\nb\nc\n", 2)).toBe("b\nc\n");
    expect(tailLines("a\nb\nc", 2)).toBe("b\nc");
    expect(tailLines("a\nb\n", 5)).toBe("a\nb\n");
    expect(tailLines("a\n", 0)).toBe("");
    expect(tailLines("", 3)).toBe("");
  });
});

describe("JsonLogger", () => {
  it("writes one JSON object per line and filters by level", () => {
    const lines: string[] = [];
    const logger = new JsonLogger({ write: (l) => lines.push(l) }, { level: "warn", now: () => 0 });
    logger.info("hidden");
    logger.warn("shown", { pid: 7, err: new Error("boom") });
    logger.error("plain");
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"shown","fields":{"pid":7,"err":{"name":"Error","message":"boom"}}}\n',
      '{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"plain"}\n',
    ]);
  });

  it("counts events it could not write instead of throwing", () => {
    const logger = new JsonLogger({
      write: () => {
        throw new Error("ENOSPC");
      },
    });
    logger.info("x");
    expect(logger.lost).toBe(1);
  });
});

describe("followLog", () => {
  it("follows across rotations until done", async () => {
    const path = join(dir, "f.log");
    const log = new RotatingWriter(path, { maxBytes: 50, files: 2 });
    log.write("before\n");
    const seen: Buffer[] = [];
    let done = false;
    const following = followLog(path, {
      onData: (c) => seen.push(c),
      isDone: () => done,
      pollMs: 5,
    });
    for (let i = 0; i < 20; i++) {
      log.write(`line ${i}\n`);
      await new Promise((r) => setTimeout(r, 10));
    }
    done = true;
    await following;
    log.close();
    const text = Buffer.concat(seen).toString();
    expect(text).not.toContain("before");
    expect(text).toBe(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(""));
  });

  it("reads every file rotated between two polls", async () => {
    const path = join(dir, "r.log");
    const log = new RotatingWriter(path, { maxBytes: 50, files: 10 });
    const seen: Buffer[] = [];
    let done = false;
    const following = followLog(path, { onData: (c) => seen.push(c), isDone: () => done, pollMs: 100 });
    await new Promise((r) => setTimeout(r, 20)); // the follower has opened the live file and sleeps
    const lines = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, "0")}:${"y".repeat(36)}\n`);
    for (const line of lines) log.write(line); // 12 rotations before the next poll
    done = true;
    await following;
    log.close();
    // The file it had open (line 00) is read through its descriptor although it was dropped; line 01's file was
    // dropped before anyone read it; the 9 rotated files and the live one follow.
    expect(Buffer.concat(seen).toString()).toBe([lines[0], ...lines.slice(2)].join(""));
  });

  it("neither repeats nor skips bytes while another process writes and rotates fast", async () => {
    const path = join(dir, "w.log");
    const fixture = join(import.meta.dirname, "follow-writer.fixture.ts");
    const writer = spawn(process.execPath, ["--import", "tsx", fixture, path, "150000"], {
      stdio: "inherit",
    });
    const exited = new Promise((resolve) => writer.once("exit", resolve));
    let finished = false;
    void exited.then(() => (finished = true));
    while (!existsSync(path)) await new Promise((r) => setTimeout(r, 5));
    const seen: Buffer[] = [];
    await followLog(path, {
      tail: 1_000_000,
      onData: (c) => seen.push(c),
      isDone: () => finished,
      pollMs: 5,
    });
    const lines = Buffer.concat(seen).toString().split("\n").slice(0, -1);
    const numbers = lines.map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
    const firstBad = numbers.findIndex((n, i) => i > 0 && n !== (numbers[i - 1] ?? 0) + 1);
    expect(firstBad === -1 ? "ok" : lines.slice(Math.max(0, firstBad - 2), firstBad + 2)).toBe("ok");
    expect(numbers.at(-1)).toBe(149_999);
  }, 30_000);

  it("stops when aborted", async () => {
    const path = join(dir, "g.log");
    writeFileSync(path, "abc\n");
    const abort = new AbortController();
    const seen: Buffer[] = [];
    const following = followLog(path, { tail: 10, onData: (c) => seen.push(c), signal: abort.signal });
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    await following;
    expect(Buffer.concat(seen).toString()).toBe("abc\n");
  });

  it("starts with the last lines across rotated files", async () => {
    const path = join(dir, "t.log");
    const log = new RotatingWriter(path, { maxBytes: 8, files: 3 });
    for (const line of ["a1\n", "b2\n", "c3\n", "d4\n", "e5\n"]) log.write(line);
    const seen: Buffer[] = [];
    await followLog(path, { tail: 4, onData: (c) => seen.push(c), isDone: () => true });
    log.close();
    expect(Buffer.concat(seen).toString()).toBe("b2\nc3\nd4\ne5\n");
  });
});
