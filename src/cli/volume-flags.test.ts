import { describe, expect, it } from "vitest";
import { fieldOf } from "../config/field-of.fixture.js";
import {
  isHostPath,
  parseSizeMib,
  parseTmpfsFlag,
  parseVolumeFlag,
  volumesFromFlags,
} from "./volume-flags.js";

describe("-v and --tmpfs", () => {
  it("tells host paths from volume names as docker does", () => {
    for (const s of ["/abs", "./rel", "../up", "~", "~/x", ".", ".."]) expect(isHostPath(s), s).toBe(true);
    for (const s of ["cache", "my.vol", "a-b", "x/y"]) expect(isHostPath(s), s).toBe(false);
  });

  it("parses -v", () => {
    expect(parseVolumeFlag("cache:/data")).toEqual(["/data", { named: "cache" }]);
    expect(parseVolumeFlag("cache:/data:ro")).toEqual(["/data", { named: "cache", readonly: true }]);
    expect(parseVolumeFlag("./src:/src:rw")).toEqual(["/src", { bind: "./src" }]);
    expect(parseVolumeFlag("/abs/dir:/mnt:ro")).toEqual(["/mnt", { bind: "/abs/dir", readonly: true }]);
    expect(parseVolumeFlag("~/work:/w")).toEqual(["/w", { bind: "~/work" }]);
    const field = (spec: string): string | undefined => fieldOf(() => parseVolumeFlag(spec));
    expect(field("/data")).toBe("--volume");
    expect(field(":/data")).toBe("--volume");
    expect(field("a:/b:ro:x")).toBe("--volume");
    expect(field("a:/b:z")).toBe("--volume");
  });

  it("parses --tmpfs with docker's size units", () => {
    expect(parseTmpfsFlag("/scratch")).toEqual(["/scratch", { tmpfs: true }]);
    expect(parseTmpfsFlag("/scratch:size=64m")).toEqual(["/scratch", { tmpfs: true, sizeMib: 64 }]);
    expect(parseTmpfsFlag("/s:size=1g,ro")).toEqual(["/s", { tmpfs: true, sizeMib: 1024, readonly: true }]);
    expect(parseSizeMib("65536", "x")).toBe(1); // bytes without a unit, rounded up to whole MiB
    expect(parseSizeMib("1536k", "x")).toBe(2);
    expect(fieldOf(() => parseTmpfsFlag("/s:size=lots"))).toBe("--tmpfs");
    expect(fieldOf(() => parseTmpfsFlag("/s:size=0"))).toBe("--tmpfs");
    expect(fieldOf(() => parseTmpfsFlag("/s:mode=1777"))).toBe("--tmpfs");
  });

  it("builds the volumes option; a path twice is an error", () => {
    expect(volumesFromFlags([], [])).toBeUndefined();
    expect(volumesFromFlags(["cache:/data", "./src:/src:ro"], ["/tmp/x:size=8m"])).toEqual({
      "/data": { named: "cache" },
      "/src": { bind: "./src", readonly: true },
      "/tmp/x": { tmpfs: true, sizeMib: 8 },
    });
    expect(fieldOf(() => volumesFromFlags(["cache:/data"], ["/data"]))).toBe("volumes./data");
  });
});
