/**
 * Pulling every published variant from a real registry (Debian's docker-registry on loopback): OCI and Docker
 * manifests, indexes with platform selection, gzip/zstd/uncompressed layers, digests, progress, pull policies,
 * mirrors, list/inspect/remove/prune, and the failures a user meets first (unknown image, unknown tag, `never`).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageInUseError, ImageNotFoundError, ImagePullError } from "../../src/errors.js";
import { formatPlatform, type PullEvent } from "../../src/image/index.js";
import { cacheState, hashFile, testHome } from "../fixtures/registry/harness.js";
import type { BuiltImage, BuiltIndex } from "../fixtures/registry/oci-builder.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry/registry-server.js";
import { HOST_PLATFORM, OTHER_PLATFORM, seedRegistry, type SeedCatalog } from "../fixtures/registry/seed.js";

let registry: TestRegistry;
let catalog: SeedCatalog;

beforeAll(async () => {
  registry = await startRegistry();
  catalog = await seedRegistry(registry.url);
});
afterAll(async () => {
  await registry.stop();
});

function published(name: string): { image: BuiltImage | BuiltIndex; digest: string } {
  const entry = catalog.get(name);
  if (entry === undefined) throw new Error(`${name} was not published`);
  return entry;
}

function single(name: string, architecture = HOST_PLATFORM.architecture): BuiltImage {
  const { image } = published(name);
  if (!("index" in image)) return image;
  const found = image.images.find((i) => i.platform.architecture === architecture);
  if (found === undefined) throw new Error(`${name} has no ${architecture} image`);
  return found;
}

describe("pull", () => {
  it.each([
    ["busybox:latest", "OCI manifest, gzip"],
    ["busybox-v2:latest", "Docker v2 manifest"],
    ["busybox-zstd:latest", "zstd layer"],
    ["busybox-raw:latest", "uncompressed layer"],
    ["multi:latest", "OCI index"],
    ["multi-docker:latest", "Docker manifest list"],
    ["tree:latest", "three layers"],
  ])("pulls %s (%s), verified and cached by digest", async (name) => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/${name}`);
    const expected = single(name);
    expect(info.digest).toBe(expected.manifest.digest);
    expect(info.configDigest).toBe(expected.config.digest);
    expect(info.platform).toMatchObject({ os: "linux", architecture: HOST_PLATFORM.architecture });
    expect(info.references).toEqual([`${registry.host}/${name}`]);
    expect(info.layers.map((l) => [l.digest, l.size, l.diffId])).toEqual(
      expected.layers.map((l) => [l.digest, l.size, l.diffId]),
    );
    expect(info.config.env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(info.config.cmd).toEqual(["sh"]);
    for (const layer of expected.layers)
      expect(await hashFile(`${home.paths.layersDir}/sha256/${layer.digest.slice(7)}`)).toBe(layer.digest);
    const state = await cacheState(home.paths);
    expect(state).toMatchObject({ images: [expected.manifest.digest], scratch: [], corruptBlobs: [] });
  });

  it("selects the platform from an index, overridable (the other architecture)", async () => {
    await using home = await testHome();
    await using images = await home.service();
    for (const name of ["multi:latest", "multi-docker:latest"]) {
      const other = await images.pull(`${registry.host}/${name}`, {
        platform: formatPlatform(OTHER_PLATFORM),
      });
      expect(other.digest).toBe(single(name, OTHER_PLATFORM.architecture).manifest.digest);
      expect(other.platform).toEqual(OTHER_PLATFORM);
    }
    await expect(images.pull(`${registry.host}/multi:latest`, { platform: "linux/s390x" })).rejects.toThrow(
      `has no image for linux/s390x (it has: ${formatPlatform(HOST_PLATFORM)}, ${formatPlatform(OTHER_PLATFORM)})`,
    );
  });

  it("keeps the image config: Env, Cmd, WorkingDir, User, ExposedPorts, labels", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${registry.host}/tree:latest`);
    expect(info.config).toMatchObject({
      os: "linux",
      architecture: HOST_PLATFORM.architecture,
      cmd: ["sh"],
      workingDir: "/",
      user: "0:0",
      exposedPorts: ["8080/tcp"],
      labels: { "org.opencontainers.image.title": "busybox (microsandbox test)" },
    });
    expect(info.config.entrypoint).toBeUndefined();
    expect(images.inspect(`${registry.host}/tree:latest`).digest).toBe(info.digest);
    expect(images.inspect(info.digest).config).toEqual(info.config);
  });

  it("pulls by digest and refuses a manifest that does not match it", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const { digest } = published("multi:latest");
    const info = await images.pull(`${registry.host}/multi@${digest}`);
    expect(info.digest).toBe(single("multi:latest").manifest.digest);
    const other = published("busybox-zstd:latest").digest;
    await expect(images.pull(`${registry.host}/multi@${other}`)).rejects.toBeInstanceOf(ImageNotFoundError);
  });

  it("reports progress a progress bar can draw", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const events: PullEvent[] = [];
    const info = await images.pull(`${registry.host}/tree:latest`, { onProgress: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ type: "resolved", digest: info.digest, endpoint: registry.url });
    expect(events.at(-1)).toEqual({
      type: "done",
      reference: `${registry.host}/tree:latest`,
      digest: info.digest,
    });
    for (const layer of info.layers) {
      const updates = events.flatMap((e) => (e.type === "layer" && e.digest === layer.digest ? [e] : []));
      expect(updates.every((u) => u.total === layer.size)).toBe(true);
      expect(updates.map((u) => u.done)).toEqual([...updates.map((u) => u.done)].sort((a, b) => a - b));
      expect(updates.at(-1)?.done).toBe(layer.size);
    }
    const again: PullEvent[] = [];
    await images.pull(`${registry.host}/tree:latest`, { onProgress: (e) => again.push(e) });
    expect(again.flatMap((e) => (e.type === "layer" ? [e.cached] : [])).every(Boolean)).toBe(true);
  });
});

describe("errors leave nothing behind", () => {
  it("unknown repository and unknown tag are ImageNotFoundError naming what is missing", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const repo = images.pull(`${registry.host}/no-such-image:latest`);
    await expect(repo).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(repo).rejects.toThrow(/repository no-such-image not found/);
    const tag = images.pull(`${registry.host}/busybox:nope`);
    await expect(tag).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(tag).rejects.toThrow(/tag "nope" not found in busybox/);
    expect(await cacheState(home.paths)).toMatchObject({ images: [], blobs: [], scratch: [] });
  });

  it("an unreachable registry is an ImagePullError", async () => {
    await using home = await testHome();
    await using images = await home.service();
    await expect(images.pull("127.0.0.1:1/busybox")).rejects.toBeInstanceOf(ImagePullError);
    await expect(images.pull("127.0.0.1:1/busybox")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("pull policies", () => {
  it("`never` with nothing cached fails clearly; `if-missing` and `never` then work offline; `always` needs the registry", async () => {
    await using home = await testHome();
    await using own = await startRegistry();
    await seedRegistry(own.url, { only: ["busybox:latest"] });
    const ref = `${own.host}/busybox:latest`;
    const digest = single("busybox:latest").manifest.digest;
    await using images = await home.service();
    const never = images.pull(ref, { policy: "never" });
    await expect(never).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(never).rejects.toThrow(
      `${ref} is not in the local image cache and the pull policy is "never"`,
    );
    expect((await images.pull(ref, { policy: "if-missing" })).digest).toBe(digest);
    await own.stop();
    expect((await images.pull(ref, { policy: "never" })).digest).toBe(digest);
    expect((await images.pull(ref, { policy: "if-missing" })).digest).toBe(digest);
    await expect(images.pull(ref, { policy: "always" })).rejects.toBeInstanceOf(ImagePullError);
    await expect(images.pull(ref, { policy: "sometimes" as "always" })).rejects.toThrow(/pullPolicy/);
  });
});

describe("mirrors for Docker Hub", () => {
  it("resolves alpine:latest through MSB_REGISTRY_MIRRORS, trying mirrors in order", async () => {
    await using home = await testHome();
    const dead = await startRegistry();
    await dead.stop();
    await using images = await home.service({
      vars: { MSB_REGISTRY_MIRRORS: `${dead.url},${registry.url}` },
    });
    const info = await images.pull("alpine:latest");
    expect(info.references).toEqual(["docker.io/library/alpine:latest"]);
    expect(info.digest).toBe(single("library/alpine:latest").manifest.digest);
  });

  it("reads registry-mirrors from the config file", async () => {
    await using home = await testHome();
    await home.writeConfig({ "registry-mirrors": [registry.url] });
    await using images = await home.service();
    expect(images.registrySettings.mirrors).toEqual([registry.url]);
    expect((await images.pull("docker.io/library/alpine")).digest).toBe(
      single("library/alpine:latest").manifest.digest,
    );
  });

  it("names every endpoint when none has the image", async () => {
    await using home = await testHome();
    await using images = await home.service({
      vars: { MSB_REGISTRY_MIRRORS: registry.url },
      retry: { attempts: 1 },
    });
    // The harness sets MSB_REGISTRY_MIRRORS_ONLY: tests never reach Docker Hub itself.
    const error = images.pull("definitely-not-published:1");
    await expect(error).rejects.toThrow(registry.url);
    await expect(error).rejects.toMatchObject({ code: "MSB_ERR_IMAGE_NOT_FOUND" });
  });
});

describe("list, inspect, remove, prune", () => {
  it("removes references, then images, but never an image in use", async () => {
    await using home = await testHome();
    await using images = await home.service({ vars: { MSB_REGISTRY_MIRRORS: registry.url } });
    const a = await images.pull(`${registry.host}/busybox:latest`);
    await images.pull("alpine:latest"); // the same image under a second name
    const tree = await images.pull(`${registry.host}/tree:latest`);
    await images.baseDisk(tree.digest);
    expect(
      images
        .list()
        .map((i) => i.digest)
        .sort(),
    ).toEqual([a.digest, tree.digest].sort());
    expect(images.inspect("alpine").references).toEqual([
      `${registry.host}/busybox:latest`,
      "docker.io/library/alpine:latest",
    ]);

    expect(await images.remove("alpine")).toEqual({
      untagged: ["docker.io/library/alpine:latest"],
      deleted: [],
    });
    images.lease(a.digest, "sandbox:web");
    await expect(images.remove(`${registry.host}/busybox:latest`)).rejects.toBeInstanceOf(ImageInUseError);
    await expect(images.remove(a.digest)).rejects.toThrow("in use by sandbox:web");
    expect((await images.prune({ all: true, graceMs: 0 })).images).toEqual([tree.digest]);
    images.release(a.digest, "sandbox:web");
    expect(await images.remove(`${registry.host}/busybox:latest`)).toEqual({
      untagged: [`${registry.host}/busybox:latest`],
      deleted: [a.digest],
    });
    expect(() => images.inspect(a.digest)).toThrow(ImageNotFoundError);
    const state = await cacheState(home.paths);
    expect(state).toMatchObject({ images: [], references: [], blobs: [], scratch: [] });
  });

  it("prunes dangling images, orphan blobs and base disks, keeping tagged ones", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const tree = await images.pull(`${registry.host}/tree:latest`);
    const busybox = await images.pull(`${registry.host}/busybox:latest`);
    await images.baseDisk(tree.digest);
    await images.remove(`${registry.host}/tree:latest`);
    expect((await images.prune({ graceMs: 0 })).images).toEqual([]);
    expect(images.list().map((i) => i.digest)).toEqual([busybox.digest]);
    const sharedLayer = busybox.layers[0]?.digest ?? "";
    expect((await cacheState(home.paths)).blobs).toEqual([sharedLayer]);
    const bytes = await readFile(`${home.paths.layersDir}/sha256/${sharedLayer.slice(7)}`);
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(sharedLayer);
  });
});
