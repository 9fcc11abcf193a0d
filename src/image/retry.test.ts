import { describe, expect, it } from "vitest";
import { forEachLimited } from "./pool.js";
import { RegistryHttpError } from "./registry/client.js";
import { ShortBodyError, isTransient, withRetry } from "./retry.js";

const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe("retries", () => {
  it("classifies transient failures", () => {
    expect(isTransient(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransient(new RegistryHttpError(503, undefined, "x"))).toBe(true);
    expect(isTransient(new RegistryHttpError(429, "TOOMANYREQUESTS", "x"))).toBe(true);
    expect(isTransient(new RegistryHttpError(404, "MANIFEST_UNKNOWN", "x"))).toBe(false);
    expect(isTransient(new ShortBodyError("x"))).toBe(true);
    expect(isTransient(new Error("plain"))).toBe(false);
  });

  it("retries transient failures up to the limit, and not the others", async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new ShortBodyError("short"));
        },
        { policy },
      ),
    ).rejects.toThrow("short");
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(new Error("fatal"));
        },
        { policy },
      ),
    ).rejects.toThrow("fatal");
    expect(calls).toBe(1);
    expect(
      await withRetry(async (n) => (n < 2 ? Promise.reject(new ShortBodyError("again")) : n), { policy }),
    ).toBe(2);
  });
});

describe("forEachLimited", () => {
  it("bounds concurrency and reports the first failure after the others settle", async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6], 2, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active--;
      done.push(n);
    });
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(
      forEachLimited([1, 2, 3], 3, async (n) => (n === 2 ? Promise.reject(new Error("two")) : undefined)),
    ).rejects.toThrow("two");
  });
});
