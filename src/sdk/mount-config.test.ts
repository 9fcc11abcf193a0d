import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateSandboxConfig } from "./config.js";
import { fieldOf } from "../config/field-of.fixture.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { checkVolumes, Mount, resolveVolumes, volumeMountSpecs } from "./mount-config.js";

const base = { name: "vol-test", image: "alpine:latest" };
const volumesField = (volumes: unknown): string | undefined =>
  fieldOf(() => validateSandboxConfig({ ...base, volumes }));

describe("the volumes option", () => {
  it("accepts the seed's shapes, built or raw", () => {
    const volumes = {
      "/data": Mount.named("cache"),
      "/src": Mount.bind("./src", { readonly: true }),
      "/scratch": Mount.tmpfs({ sizeMib: 64 }),
      "/raw": { tmpfs: true, readonly: true },
      "/raw2": { named: "other", readonly: false },
    };
    expect(volumesField(volumes)).toBeUndefined();
  });

  it("names the field of every error", () => {
    expect(volumesField([])).toBe("volumes");
    expect(volumesField("x")).toBe("volumes");
    expect(volumesField({ data: Mount.tmpfs() })).toBe("volumes.data");
    expect(volumesField({ "/": Mount.tmpfs() })).toBe("volumes./");
    expect(volumesField({ "/proc": Mount.tmpfs() })).toBe("volumes./proc");
    expect(volumesField({ "/sys/kernel": Mount.tmpfs() })).toBe("volumes./sys/kernel");
    expect(volumesField({ "/.msb/x": Mount.tmpfs() })).toBe("volumes./.msb/x");
    expect(volumesField({ [`/${"a".repeat(4095)}`]: Mount.tmpfs() })).toBe(`volumes./${"a".repeat(4095)}`);
    const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`/m${i}`, Mount.tmpfs()]));
    expect(volumesField(many)).toBe("volumes");
    expect(volumesField({ "/dev/../dev/shm": Mount.tmpfs() })).toBe("volumes./dev/../dev/shm");
    expect(volumesField({ "/data": Mount.tmpfs(), "/data/": Mount.tmpfs() })).toBe("volumes./data/");
    expect(volumesField({ "/data": Mount.tmpfs(), "/x/../data": Mount.tmpfs() })).toBe("volumes./x/../data");
    expect(volumesField({ "/data": {} })).toBe("volumes./data");
    expect(volumesField({ "/data": { bind: "/a", named: "b" } })).toBe("volumes./data");
    expect(volumesField({ "/data": null })).toBe("volumes./data");
    expect(volumesField({ "/data": { tmpfs: true, sizeMib: 0 } })).toBe("volumes./data.sizeMib");
    expect(volumesField({ "/data": { tmpfs: true, sizeMib: 1.5 } })).toBe("volumes./data.sizeMib");
    expect(volumesField({ "/data": { tmpfs: true, sizeMib: "64" } })).toBe("volumes./data.sizeMib");
    expect(volumesField({ "/data": { named: "cache", sizeMib: 64 } })).toBe("volumes./data.sizeMib");
    expect(volumesField({ "/data": { tmpfs: false } })).toBe("volumes./data.tmpfs");
    expect(volumesField({ "/data": { named: "-bad" } })).toBe("volumes./data.named");
    expect(volumesField({ "/data": { named: "a/b" } })).toBe("volumes./data.named");
    expect(volumesField({ "/data": { bind: "" } })).toBe("volumes./data.bind");
    expect(volumesField({ "/data": { bind: "/x", readonly: "yes" } })).toBe("volumes./data.readonly");
    expect(volumesField({ "/data": { bind: "/x", quotaMib: 5 } })).toBe("volumes./data.quotaMib");
  });

  it("normalises guest paths", () => {
    expect(Object.keys(checkVolumes({ "/a/./b/": Mount.tmpfs(), "/c//d": Mount.tmpfs() }) ?? {})).toEqual([
      "/a/b",
      "/c/d",
    ]);
    expect(Object.keys(checkVolumes({ "/devices": Mount.tmpfs(), "/process": Mount.tmpfs() }) ?? {})).toEqual(
      ["/devices", "/process"],
    );
  });
});

describe("bind paths", () => {
  const dir = tempDirs("msb-mount-config-")();

  it("are made absolute against the creator's cwd, and must be directories", () => {
    const resolved = resolveVolumes({ "/src/": Mount.bind(".", { readonly: true }) }, dir);
    expect(resolved).toEqual({ "/src": { bind: dir, readonly: true } });
    writeFileSync(join(dir, "file"), "x");
    expect(fieldOf(() => resolveVolumes({ "/f": Mount.bind("./file") }, dir))).toBe("volumes./f.bind");
    expect(fieldOf(() => resolveVolumes({ "/m": Mount.bind("missing") }, dir))).toBe("volumes./m.bind");
    expect(resolveVolumes(undefined, dir)).toBeUndefined();
  });

  it("become mount specs", () => {
    const specs = volumeMountSpecs({
      "/a": Mount.bind("/abs"),
      "/b": Mount.named("v", { readonly: true }),
      "/c": Mount.tmpfs({ sizeMib: 8 }),
      "/d": Mount.tmpfs(),
    });
    expect(specs).toEqual([
      { target: "/a", field: "volumes./a", source: { kind: "bind", path: "/abs" }, readonly: false },
      { target: "/b", field: "volumes./b", source: { kind: "named", name: "v" }, readonly: true },
      { target: "/c", field: "volumes./c", source: { kind: "tmpfs", sizeMib: 8 }, readonly: false },
      { target: "/d", field: "volumes./d", source: { kind: "tmpfs" }, readonly: false },
    ]);
  });
});
