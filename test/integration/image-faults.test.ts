/**
 * Hostile and failing registries: a blob whose bytes do not match its digest, a connection cut mid-blob (resumed
 * with a Range request), and a registry that dies mid-download. Each failure is typed and leaves no partial cache
 * entry: no image record, no scratch file, no unverified blob.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageDigestError, ImagePullError } from "../../src/errors.js";
import { startFaultProxy, type FaultProxy } from "../fixtures/registry/fault-proxy.js";
import { cacheState, testHome } from "../fixtures/registry/harness.js";
import type { BuiltImage } from "../fixtures/registry/oci-builder.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry/registry-server.js";
import { seedRegistry } from "../fixtures/registry/seed.js";

let registry: TestRegistry;
let busybox: BuiltImage;

beforeAll(async () => {
  registry = await startRegistry();
  const catalog = await seedRegistry(registry.url, { only: ["busybox:latest", "tree:latest"] });
  const image = catalog.get("busybox:latest")?.image;
  if (image === undefined || "index" in image) throw new Error("busybox was not published");
  busybox = image;
});
afterAll(async () => {
  await registry.stop();
});

function layerDigest(): string {
  const layer = busybox.layers[0];
  if (layer === undefined || layer.size < 300_000)
    throw new Error("the busybox layer is too small to cut mid-way");
  return layer.digest;
}

async function proxy(): Promise<FaultProxy> {
  return startFaultProxy(registry.url);
}

/** The cache after a failed pull into an empty home: nothing recorded, no blob, no scratch file. */
const NOTHING_CACHED = { images: [], references: [], blobs: [], scratch: [], corruptBlobs: [] };

describe("faults", () => {
  it("a blob whose digest does not match is an ImageDigestError and is not cached", async () => {
    await using faulty = await proxy();
    faulty.setFault({ kind: "corrupt-blob", digest: layerDigest() });
    await using home = await testHome();
    await using images = await home.service();
    const pull = images.pull(`${faulty.host}/busybox:latest`);
    await expect(pull).rejects.toBeInstanceOf(ImageDigestError);
    await expect(pull).rejects.toThrow(`blob ${layerDigest()} does not match its digest`);
    expect(await cacheState(home.paths)).toEqual(NOTHING_CACHED);
  });

  it("resumes a blob whose connection was cut, with a Range request", async () => {
    await using faulty = await proxy();
    faulty.setFault({ kind: "cut-blob-once", digest: layerDigest(), afterBytes: 200_000 });
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${faulty.host}/busybox:latest`);
    expect(info.digest).toBe(busybox.manifest.digest);
    const blobRequests = faulty.requests.filter((r) => r.path.endsWith(layerDigest()));
    expect(blobRequests).toHaveLength(2);
    expect(blobRequests[0]?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(blobRequests[1]?.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0); // the bytes received before the cut were kept
    expect(resumedAt).toBeLessThanOrEqual(200_000);
    expect(await cacheState(home.paths)).toMatchObject({
      images: [busybox.manifest.digest],
      scratch: [],
      corruptBlobs: [],
    });
  });

  it("a registry that dies mid-download is an ImagePullError and leaves nothing behind", async () => {
    await using faulty = await proxy();
    faulty.setFault({ kind: "die-mid-blob", digest: layerDigest(), afterBytes: 300_000 });
    await using home = await testHome();
    await using images = await home.service();
    const started = Date.now();
    const pull = images.pull(`${faulty.host}/busybox:latest`);
    await expect(pull).rejects.toBeInstanceOf(ImagePullError);
    await expect(pull).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await cacheState(home.paths)).toEqual(NOTHING_CACHED);
  });

  it("a pull of several layers that fails keeps only complete, verified blobs and records nothing", async () => {
    await using faulty = await proxy();
    faulty.setFault({ kind: "corrupt-blob", digest: layerDigest() });
    await using home = await testHome();
    await using images = await home.service({ concurrency: 1 });
    await expect(images.pull(`${faulty.host}/tree:latest`)).rejects.toBeInstanceOf(ImageDigestError);
    const state = await cacheState(home.paths);
    expect(state).toMatchObject({ images: [], references: [], scratch: [], corruptBlobs: [] });
    expect(state.blobs).not.toContain(layerDigest());
    expect((await images.prune({ graceMs: 0 })).layers).toEqual(state.blobs);
    expect((await cacheState(home.paths)).blobs).toEqual([]);
  });
});
