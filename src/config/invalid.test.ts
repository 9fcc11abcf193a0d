import { describe, expect, it } from "vitest";
import { fieldOf } from "./field-of.fixture.js";
import { MAX_GUEST_PATH_BYTES, guestPath } from "./invalid.js";

describe("guestPath", () => {
  it("normalises dot segments and trailing slashes", () => {
    expect(guestPath("f", "/a/./b/../c//")).toBe("/a/c");
  });

  it("refuses relative paths, the root, NUL and newline, naming the field", () => {
    for (const bad of ["a/b", "", "/", "//", "/a/..", "/a\0b", "/a\nb", 7]) {
      expect(fieldOf(() => guestPath("volumes.x", bad))).toBe("volumes.x");
    }
  });

  it("counts the length in bytes, not characters", () => {
    const ascii = `/${"a".repeat(MAX_GUEST_PATH_BYTES - 1)}`;
    expect(guestPath("f", ascii)).toBe(ascii);
    // 2048 two-byte characters: 4097 bytes with the slash, though only 2049 UTF-16 units.
    expect(fieldOf(() => guestPath("f", `/${"é".repeat(2048)}`))).toBe("f");
  });
});
