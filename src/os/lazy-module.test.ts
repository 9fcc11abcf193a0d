import type * as Zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { LazyModule } from "./lazy-module.js";

describe("LazyModule", () => {
  it("loads the module at the first get and returns the same one after", async () => {
    const zlib = new LazyModule<typeof Zlib>("node:zlib");
    const first = zlib.get();
    expect(first).toBe(zlib.get());
    expect(first.gunzipSync(first.gzipSync("x")).toString()).toBe("x");
    expect(first.constants).toBe((await import("node:zlib")).constants);
  });

  it("fails at first use, not at construction, for a missing module", () => {
    const missing = new LazyModule("msb-no-such-module");
    expect(() => missing.get()).toThrow(/msb-no-such-module/);
  });
});
