import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StoreError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import type { NewImageRecord } from "./image-repository.js";
import { MIGRATIONS } from "./migrations.js";
import { Store } from "./store.js";

const d = (c: string): string => `sha256:${c.repeat(64)}`;

function image(digest: string, layers: string[]): NewImageRecord {
  return {
    digest,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    manifest: "{}",
    configDigest: d("c"),
    config: "{}",
    os: "linux",
    architecture: "amd64",
    layers: layers.map((l, i) => ({
      digest: l,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      size: 10 + i,
      diffId: d("f"),
    })),
  };
}

const tempDir = tempDirs("msb-store-");

function dbPath(): string {
  return join(tempDir(), "db", "msb.db");
}

describe("Store", () => {
  it("migrates once, in WAL mode, and refuses a newer schema", () => {
    const path = dbPath();
    using first = Store.open({ path });
    expect(first.schemaVersion).toBe(MIGRATIONS.at(-1)?.version);
    using second = Store.open({ path });
    expect(second.schemaVersion).toBe(first.schemaVersion);
    expect(() => Store.open({ path, migrations: [] })).toThrow(StoreError);
  });

  it("records images with their layers and references", () => {
    using store = Store.open({ path: dbPath() });
    store.images.save(image(d("1"), [d("a"), d("b")]), {
      reference: "docker.io/library/x:1",
      resolvedDigest: d("9"),
    });
    const got = store.images.get(d("1"));
    expect(got?.layers.map((l) => l.digest)).toEqual([d("a"), d("b")]);
    expect(got?.size).toBe(21);
    expect(got?.references).toEqual(["docker.io/library/x:1"]);
    expect(store.images.reference("docker.io/library/x:1")).toEqual({
      reference: "docker.io/library/x:1",
      imageDigest: d("1"),
      resolvedDigest: d("9"),
    });
    store.images.save(image(d("2"), [d("b")]), {
      reference: "docker.io/library/x:1",
      resolvedDigest: d("2"),
    });
    expect(store.images.reference("docker.io/library/x:1")?.imageDigest).toBe(d("2"));
    expect(store.images.dangling()).toEqual([d("1")]);
    expect(
      store.images
        .list()
        .map((i) => i.digest)
        .sort(),
    ).toEqual([d("1"), d("2")]);
  });

  it("deletes an image and reports the layers nobody uses, unless it is leased", () => {
    using store = Store.open({ path: dbPath() });
    store.images.save(image(d("1"), [d("a"), d("b")]), { reference: "r1", resolvedDigest: d("1") });
    store.images.save(image(d("2"), [d("b")]), { reference: "r2", resolvedDigest: d("2") });
    store.images.addLease(d("1"), "sandbox:web");
    const blocked = store.images.delete(d("1"), () => undefined);
    expect(blocked).toEqual({ deleted: false, holders: ["sandbox:web"] });
    store.images.removeLease(d("1"), "sandbox:web");
    let orphans: readonly string[] = [];
    expect(store.images.delete(d("1"), (o) => (orphans = o)).deleted).toBe(true);
    expect(orphans).toEqual([d("a")]);
    expect(store.images.reference("r1")).toBeUndefined();
    expect([...store.images.referencedLayers()]).toEqual([d("b")]);
  });

  it("rolls the deletion back when the blob removal fails", () => {
    using store = Store.open({ path: dbPath() });
    store.images.save(image(d("1"), [d("a")]), { reference: "r1", resolvedDigest: d("1") });
    expect(() =>
      store.images.delete(d("1"), () => {
        throw new Error("disk on fire");
      }),
    ).toThrow(StoreError);
    expect(store.images.get(d("1"))?.references).toEqual(["r1"]);
  });

  it("sees writes of another connection (another process)", () => {
    const path = dbPath();
    using a = Store.open({ path });
    using b = Store.open({ path });
    a.images.save(image(d("1"), [d("a")]), { reference: "r", resolvedDigest: d("1") });
    b.images.save(image(d("1"), [d("a")]), { reference: "r", resolvedDigest: d("1") });
    expect(b.images.get(d("1"))?.references).toEqual(["r"]);
    expect(a.images.list()).toHaveLength(1);
  });
});
