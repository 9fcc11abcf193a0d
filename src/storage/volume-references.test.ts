import { describe, expect, it } from "vitest";
import { Store } from "../store/store.js";
import type { SandboxStatus } from "../store/sandbox-status.js";
import { diskConflicts, namedMountsOf, volumeReferences } from "./volume-references.js";

function addSandbox(
  store: Store,
  name: string,
  status: SandboxStatus,
  volumes: Record<string, unknown>,
): void {
  store.sandboxes.insert({
    name,
    id: `id-${name}`,
    configJson: JSON.stringify({ name, image: "alpine", volumes }),
    image: "alpine",
    imageDigest: undefined,
    labels: {},
    runDir: `/tmp/run-${name}`,
    ownerPid: process.pid,
    detached: false,
  });
  store.sandboxes.setStatus(`id-${name}`, status);
}

describe("volume references", () => {
  it("reads the named mounts of a stored config (writable if any mount is)", () => {
    const config = JSON.stringify({
      volumes: {
        "/a": { named: "v", readonly: true },
        "/b": { named: "v" },
        "/c": { named: "w", readonly: true },
        "/d": { bind: "/x" },
        "/e": { tmpfs: true },
      },
    });
    expect(namedMountsOf(config)).toEqual(
      new Map([
        ["v", false],
        ["w", true],
      ]),
    );
    expect(namedMountsOf(JSON.stringify({ name: "x" }))).toEqual(new Map());
  });

  it("finds every referencing sandbox, and the live ones a disk's new user conflicts with", () => {
    using store = Store.open({ path: ":memory:" });
    addSandbox(store, "stopped-writer", "stopped", { "/d": { named: "blk" } });
    addSandbox(store, "reader", "creating", { "/d": { named: "blk", readonly: true } });
    addSandbox(store, "other", "creating", { "/d": { named: "else" } });
    expect(
      volumeReferences(store, "blk")
        .map((r) => r.sandbox)
        .sort(),
    ).toEqual(["reader", "stopped-writer"]);
    expect(diskConflicts(store, "blk", "id-self", true)).toEqual([]); // readers together
    expect(diskConflicts(store, "blk", "id-self", false)).toEqual(["reader"]); // a writer beside a reader
    expect(diskConflicts(store, "blk", "id-reader", false)).toEqual([]); // itself does not count
    addSandbox(store, "writer", "creating", { "/d": { named: "blk" } });
    expect(diskConflicts(store, "blk", "id-self", true)).toEqual(["writer"]);
  });
});
