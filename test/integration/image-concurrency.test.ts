/**
 * Two processes pulling the same image into the same MSB_HOME at once (and building its base disk): both succeed,
 * the cache holds one verified copy of everything, one base disk, and no scratch files.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../../src/image/tool.js";
import { spawnPullChild } from "../fixtures/registry/child.js";
import { cacheState, testHome } from "../fixtures/registry/harness.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry/registry-server.js";
import { seedRegistry } from "../fixtures/registry/seed.js";

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry();
  await seedRegistry(registry.url, { only: ["tree:latest", "library/alpine:latest", "busybox:latest"] });
});
afterAll(async () => {
  await registry.stop();
});

describe("concurrent pulls", () => {
  it("two processes pulling and building the same image both succeed, and nothing is corrupted", async () => {
    await using home = await testHome();
    const children = [1, 2].map(() =>
      spawnPullChild({ home: home.home, reference: `${registry.host}/tree:latest`, baseDisk: true }),
    );
    const results = await Promise.all(children.map((c) => c.result));
    for (const r of results) expect(r.code, `${JSON.stringify(r.output)}\n${r.stderr}`).toBe(0);
    const [a, b] = results.map((r) => r.output);
    expect(a?.digest).toBe(b?.digest);
    expect(a?.disk).toBe(b?.disk);
    expect([a?.built, b?.built].sort()).toEqual([false, true]); // built once, under the lock
    const state = await cacheState(home.paths);
    expect(state).toMatchObject({ images: [a?.digest], scratch: [], corruptBlobs: [] });
    expect(state.blobs).toHaveLength(3);
    const fsck = await runTool("/usr/sbin/e2fsck", { args: ["-fn", a?.disk ?? ""] });
    expect(fsck.code, fsck.stdout.toString()).toBe(0);
  });

  it("different references to the same layers, pulled at once, share the cache", async () => {
    await using home = await testHome();
    const children = [
      spawnPullChild({ home: home.home, reference: `${registry.host}/busybox:latest` }),
      spawnPullChild({ home: home.home, reference: "alpine:latest", mirrors: registry.url }),
      spawnPullChild({ home: home.home, reference: `${registry.host}/busybox:latest` }),
    ];
    const results = await Promise.all(children.map((c) => c.result));
    for (const r of results) expect(r.code, `${JSON.stringify(r.output)}\n${r.stderr}`).toBe(0);
    const state = await cacheState(home.paths);
    expect(state.references).toEqual([`${registry.host}/busybox:latest`, "docker.io/library/alpine:latest"]);
    expect(state).toMatchObject({ scratch: [], corruptBlobs: [] });
    expect(state.blobs).toHaveLength(1);
  });
});
