import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { LockTimeoutError, acquireFileLock } from "./lock.js";

const dir = tempDirs("msb-lock-");

describe("acquireFileLock", () => {
  it("excludes a second holder until released", async () => {
    const path = join(dir(), "x.lock");
    const first = await acquireFileLock({ path });
    expect(readFileSync(path, "utf8").split("\n")[0]).toBe(String(process.pid));
    await expect(acquireFileLock({ path, timeoutMs: 100, pollMs: 10 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
    const waiting = acquireFileLock({ path, timeoutMs: 5000, pollMs: 10 });
    await first.release();
    const second = await waiting;
    await second.release();
    expect(existsSync(path)).toBe(false);
  });

  it("breaks a lock whose owner died", async () => {
    const path = join(dir(), "x.lock");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    }).stdout;
    writeFileSync(path, `${dead}\n${hostname()}\nabc\n`);
    await using lock = await acquireFileLock({ path, timeoutMs: 2000 });
    expect(readFileSync(path, "utf8").startsWith(`${process.pid}\n`)).toBe(true);
    expect(lock).toBeDefined();
  });

  it("does not break a lock of another host", async () => {
    const path = join(dir(), "x.lock");
    writeFileSync(path, `999999\nanother-host\nabc\n`);
    await expect(acquireFileLock({ path, timeoutMs: 100, pollMs: 10 })).rejects.toThrow(/held by 999999/);
  });

  it("release does not remove a lock someone else took over", async () => {
    const path = join(dir(), "x.lock");
    const lock = await acquireFileLock({ path });
    writeFileSync(path, "someone else\n");
    await lock.release();
    expect(readFileSync(path, "utf8")).toBe("someone else\n");
  });
});
