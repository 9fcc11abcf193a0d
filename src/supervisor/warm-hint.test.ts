import { describe, expect, it } from "vitest";
import type { SupervisorSpec } from "./spec.js";
import { isWarmHint, sameHint, warmHintOf } from "./warm-hint.js";

const spec: SupervisorSpec = {
  name: "a",
  id: "0123456789ab",
  home: "/h",
  runDir: "/h/run/x",
  rootDisk: { path: "/h/sandboxes/a/root.qcow2", format: "qcow2" },
  cpus: 1,
  memoryMib: 512,
  hostname: "a",
  detached: false,
  stop: { signal: 15, graceMs: 10_000 },
  newRootDisk: { imageDigest: "sha256:abc", baseDisk: "/h/cache/base.ext4", template: true },
};

describe("warmHintOf", () => {
  it("gives the image and VM shape of a create a template serves", () => {
    expect(warmHintOf(spec)).toEqual({
      home: "/h",
      disk: spec.newRootDisk,
      cpus: 1,
      memoryMib: 512,
      nic: true,
    });
    expect(warmHintOf({ ...spec, network: { policy: "none" } })?.nic).toBe(false);
  });

  it("gives none for a start, templates off, volumes, or a policy that does not compile", () => {
    const disk = { imageDigest: "sha256:abc", baseDisk: "/h/cache/base.ext4", template: false };
    const start: SupervisorSpec = Object.fromEntries(
      Object.entries(spec).filter(([key]) => key !== "newRootDisk"),
    ) as unknown as SupervisorSpec;
    expect(warmHintOf(start)).toBeUndefined();
    expect(warmHintOf({ ...spec, newRootDisk: disk })).toBeUndefined();
    const mounts = { mounts: [{ tag: "v", path: "/data", readonly: false }], shares: [], disks: [] };
    expect(warmHintOf({ ...spec, mounts } as unknown as SupervisorSpec)).toBeUndefined();
    expect(
      warmHintOf({ ...spec, network: { policy: "bogus" } } as unknown as SupervisorSpec),
    ).toBeUndefined();
  });
});

describe("isWarmHint and sameHint", () => {
  const hint = warmHintOf(spec);

  it("takes a hint as sent and refuses a malformed one", () => {
    expect(isWarmHint(JSON.parse(JSON.stringify(hint)))).toBe(true);
    expect(isWarmHint(null)).toBe(false);
    expect(isWarmHint({ ...hint, cpus: "1" })).toBe(false);
    expect(isWarmHint({ ...hint, disk: { imageDigest: "sha256:abc" } })).toBe(false);
    expect(isWarmHint({ ...hint, nic: undefined })).toBe(false);
  });

  it("tells hints of another image or shape apart", () => {
    if (hint === undefined) throw new Error("no hint");
    expect(sameHint(hint, { ...hint })).toBe(true);
    expect(sameHint(hint, { ...hint, memoryMib: 384 })).toBe(false);
    expect(sameHint(hint, { ...hint, nic: false })).toBe(false);
    expect(sameHint(hint, { ...hint, disk: { ...hint.disk, imageDigest: "sha256:def" } })).toBe(false);
    expect(sameHint(hint, { ...hint, home: "/other" })).toBe(false);
  });
});
