import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { readTail } from "./read.js";

describe("readTail", () => {
  const makeDir = tempDirs("msb-tail-", { after: "each" });

  it("reads only the end of a file, and nothing from a missing one", () => {
    const dir = makeDir();
    const file = join(dir, "console.log");
    writeFileSync(file, `${"a".repeat(1000)}END`);
    expect(readTail(file, 3)).toBe("END");
    expect(readTail(file, 5000)).toBe(`${"a".repeat(1000)}END`);
    expect(readTail(join(dir, "missing"), 10)).toBe("");
  });
});
