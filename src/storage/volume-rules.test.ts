import { describe, expect, it } from "vitest";
import { fieldOf } from "../config/field-of.fixture.js";
import { DEFAULT_DISK_MIB, validateVolumeSpec, VOLUME_NAME } from "./volume-rules.js";

describe("volume rules", () => {
  it("accepts names as sandbox names", () => {
    for (const name of ["a", "my-data", "v1.2_x", "A".repeat(63)])
      expect(VOLUME_NAME.test(name), name).toBe(true);
    for (const name of ["", "-a", ".a", "_a", "a/b", "a b", "A".repeat(64), "ä"]) {
      expect(VOLUME_NAME.test(name), name).toBe(false);
    }
  });

  it("defaults: a directory without a quota; a disk of 1024 MiB", () => {
    expect(validateVolumeSpec({ name: "d" })).toEqual({
      name: "d",
      kind: "directory",
      quotaMib: undefined,
      labels: {},
    });
    expect(validateVolumeSpec({ name: "k", kind: "disk" }).quotaMib).toBe(DEFAULT_DISK_MIB);
    expect(validateVolumeSpec({ name: "q", quotaMib: 100, labels: { a: "b" } })).toMatchObject({
      quotaMib: 100,
      labels: { a: "b" },
    });
  });

  it("names the field of every error", () => {
    const field = (input: unknown): string | undefined => fieldOf(() => validateVolumeSpec(input));
    expect(field(null)).toBe("volume");
    expect(field({})).toBe("name");
    expect(field({ name: "a/b" })).toBe("name");
    expect(field({ name: "a", kind: "nfs" })).toBe("kind");
    expect(field({ name: "a", quotaMib: 0 })).toBe("quotaMib");
    expect(field({ name: "a", quotaMib: 7 })).toBe("quotaMib");
    expect(field({ name: "a", quotaMib: 10.5 })).toBe("quotaMib");
    expect(field({ name: "a", quotaMib: 1024 * 1024 + 1 })).toBe("quotaMib");
    expect(field({ name: "a", labels: [] })).toBe("labels");
    expect(field({ name: "a", labels: { k: 1 } })).toBe("labels.k");
    expect(field({ name: "a", size: 1 })).toBe("size");
  });
});
