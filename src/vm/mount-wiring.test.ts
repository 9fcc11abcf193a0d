import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import type { MountPlan } from "../storage/mount-plan.js";
import { checkMountPlan, extraDisks, shareFiles } from "./mount-wiring.js";
import { hasSysAdmin } from "../os/capabilities.js";

const plan: MountPlan = {
  shares: [{ tag: "vol0", hostPath: "/srv/a", readonly: true }],
  disks: [{ path: "/v/d.img", serial: "vol1", readonly: false }],
  mounts: [
    { kind: "virtiofs", target: "/a", tag: "vol0", readonly: true },
    { kind: "disk", target: "/d", serial: "vol1", readonly: false },
    { kind: "tmpfs", target: "/t", sizeMib: 8, readonly: false },
  ],
};

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidConfigError) return err.field;
    throw err;
  }
  return undefined;
}

describe("checkMountPlan", () => {
  it("accepts a plan whose mounts, shares and disks match", () => {
    expect(() => {
      checkMountPlan(plan);
    }).not.toThrow();
  });

  it.each<[string, MountPlan, string]>([
    [
      "a mount of an unknown tag",
      { ...plan, mounts: [...plan.mounts, { kind: "virtiofs", target: "/b", tag: "nope", readonly: false }] },
      "mounts[3].tag",
    ],
    [
      "a mount of an unknown disk",
      { ...plan, mounts: [...plan.mounts, { kind: "disk", target: "/e", serial: "nope", readonly: false }] },
      "mounts[3].serial",
    ],
    [
      "a share nothing mounts",
      { ...plan, shares: [...plan.shares, { tag: "vol9", hostPath: "/x", readonly: false }] },
      "shares",
    ],
    [
      "a disk nothing mounts",
      { ...plan, disks: [...plan.disks, { path: "/y", serial: "vol9", readonly: false }] },
      "disks",
    ],
    ["a duplicate tag", { ...plan, shares: [...plan.shares, ...plan.shares] }, "shares[1].tag"],
    ["a bad tag", { ...plan, shares: [{ tag: "a/b", hostPath: "/srv/a", readonly: true }] }, "shares[0].tag"],
    [
      "a relative host path",
      { ...plan, shares: [{ tag: "vol0", hostPath: "srv", readonly: true }] },
      "shares[0].hostPath",
    ],
    [
      "the root disk's serial",
      { ...plan, disks: [{ path: "/v/d.img", serial: "root", readonly: false }] },
      "disks[0].serial",
    ],
    [
      "a serial over 20 bytes",
      { ...plan, disks: [{ path: "/v/d.img", serial: "s".repeat(21), readonly: false }] },
      "disks[0].serial",
    ],
  ])("rejects %s naming it", (_, bad, field) => {
    expect(
      fieldOf(() => {
        checkMountPlan(bad);
      }),
    ).toBe(field);
  });
});

describe("extraDisks / shareFiles", () => {
  it("attaches the plan's disks as raw drives vol0.. with their serials", () => {
    expect(extraDisks(plan)).toEqual([
      { id: "vol0", path: "/v/d.img", format: "raw", readonly: false, serial: "vol1" },
    ]);
  });

  it("puts sockets in the run directory and logs next to the console log", () => {
    expect(shareFiles("/run/vm", "/logs/sb/console.log", 2)).toEqual({
      socket: "/run/vm/fs2.sock",
      log: "/logs/sb/virtiofsd-2.log",
    });
  });
});

describe("hasSysAdmin", () => {
  it("reads bit 21 of CapEff", () => {
    expect(hasSysAdmin("Name:\tx\nCapEff:\t000001ffffffffff\n")).toBe(true);
    expect(hasSysAdmin("CapEff:\t0000000000200000\n")).toBe(true);
    expect(hasSysAdmin("CapEff:\t00000000001fffff\n")).toBe(false);
    expect(hasSysAdmin("CapEff:\t0000000000000000\n")).toBe(false);
    expect(hasSysAdmin("Name:\tx\n")).toBe(false);
  });
});
