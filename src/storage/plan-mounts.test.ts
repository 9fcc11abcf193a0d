import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidConfigError, VolumeNotFoundError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { Store } from "../store/store.js";
import { mountOrder, planMounts } from "./plan-mounts.js";
import type { VolumeMountSpec } from "./plan-mounts.js";

const spec = (target: string, source: VolumeMountSpec["source"], readonly = false): VolumeMountSpec => ({
  target,
  field: `volumes.${target}`,
  source,
  readonly,
});

describe("planMounts", () => {
  const home = tempDirs("msb-plan-")();
  const store = Store.open({ path: ":memory:" });
  const ctx = { store, home, searchPath: [] };
  afterAll(() => {
    store.close();
  });

  it("orders parents first, then by path, and numbers tags by position", async () => {
    const specs = [
      spec("/data/sub", { kind: "tmpfs" }),
      spec("/b", { kind: "bind", path: home }, true),
      spec("/data", { kind: "tmpfs", sizeMib: 16 }),
      spec("/a", { kind: "bind", path: home }),
    ];
    expect(mountOrder(specs).map((s) => s.target)).toEqual(["/a", "/b", "/data", "/data/sub"]);
    const plan = await planMounts(ctx, specs, "self");
    expect(plan).toEqual({
      mounts: [
        { kind: "virtiofs", target: "/a", tag: "vol0", readonly: false },
        { kind: "virtiofs", target: "/b", tag: "vol1", readonly: true },
        { kind: "tmpfs", target: "/data", sizeMib: 16, readonly: false },
        { kind: "tmpfs", target: "/data/sub", readonly: false },
      ],
      shares: [
        { tag: "vol0", hostPath: home, readonly: false },
        { tag: "vol1", hostPath: home, readonly: true },
      ],
      disks: [],
    });
    expect(await planMounts(ctx, specs, "self")).toEqual(plan); // deterministic
  });

  it("fails on a missing bind source or volume, naming it", async () => {
    const missing = join(home, "gone");
    const err = await planMounts(ctx, [spec("/x", { kind: "bind", path: missing })], "self").catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).field).toBe("volumes./x.bind");
    await expect(
      planMounts(ctx, [spec("/v", { kind: "named", name: "nope" })], "self"),
    ).rejects.toBeInstanceOf(VolumeNotFoundError);
  });
});
