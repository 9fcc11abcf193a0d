import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { TEMPLATE_FORMAT } from "./template-key.js";
import { TEMPLATE_FILES, TemplateStore, sha256 } from "./template-store.js";
import type { TemplateMeta } from "./template-store.js";

const root = tempDirs("msb-tstore-")();
let home = "";
let store: TemplateStore;
beforeEach(() => {
  home = mkdtempSync(join(root, "home-"));
  store = new TemplateStore(home);
});

/** Builds a template's files in scratch space, as `buildTemplate` leaves them, and returns the scratch dir. */
function scratchTemplate(key: string, over: Partial<TemplateMeta> = {}): string {
  const dir = store.scratchDir();
  const state = Buffer.from(`device state of ${key}`);
  writeFileSync(join(dir, TEMPLATE_FILES.state), state);
  writeFileSync(join(dir, TEMPLATE_FILES.ram), "");
  truncateSync(join(dir, TEMPLATE_FILES.ram), 1024 * 1024);
  writeFileSync(join(dir, TEMPLATE_FILES.disk), "qcow2");
  writeFileSync(join(dir, TEMPLATE_FILES.child), "qcow2 child");
  const meta: TemplateMeta = {
    format: TEMPLATE_FORMAT,
    key,
    runtime: "r1",
    imageDigest: "sha256:aa",
    memoryMib: 1,
    cpus: 1,
    createdAt: new Date().toISOString(),
    buildMs: 1,
    stateBytes: state.length,
    stateSha256: sha256(state),
    ...over,
  };
  writeFileSync(join(dir, TEMPLATE_FILES.meta), JSON.stringify(meta));
  return dir;
}

describe("TemplateStore", () => {
  it("commits a built template and finds it, checked", () => {
    const scratch = scratchTemplate("k1");
    const committed = store.commit(scratch, "k1");
    expect(existsSync(scratch)).toBe(false);
    expect(committed.meta.key).toBe("k1");
    expect(store.find("k1", "r1")?.statePath).toBe(join(store.dir, "k1", "state"));
    expect(store.find("k2", "r1")).toBeUndefined();
  });

  it("keeps the first of two concurrent commits and drops the second builder's copy", () => {
    const first = scratchTemplate("k1", { buildMs: 111 });
    const second = scratchTemplate("k1", { buildMs: 222 });
    store.commit(first, "k1");
    const kept = store.commit(second, "k1");
    expect(kept.meta.buildMs).toBe(111);
    expect(existsSync(second)).toBe(false);
    expect(store.list()).toHaveLength(1);
  });

  it.each([
    [
      "a corrupt state file",
      (dir: string) => {
        writeFileSync(join(dir, "state"), "garbage of the same size?");
      },
    ],
    [
      "a truncated RAM file",
      (dir: string) => {
        truncateSync(join(dir, "ram"), 4096);
      },
    ],
    [
      "a missing disk",
      (dir: string) => {
        rmSync(join(dir, "disk.qcow2"));
      },
    ],
    [
      "a missing child disk",
      (dir: string) => {
        rmSync(join(dir, "child.qcow2"));
      },
    ],
    [
      "unreadable meta",
      (dir: string) => {
        writeFileSync(join(dir, "meta.json"), "{");
      },
    ],
  ])("removes a template with %s instead of restoring it", (_, damage) => {
    const { dir } = store.commit(scratchTemplate("k1"), "k1");
    damage(dir);
    const reasons: string[] = [];
    expect(store.find("k1", "r1", (reason) => reasons.push(reason))).toBeUndefined();
    expect(reasons).toHaveLength(1);
    expect(existsSync(dir)).toBe(false);
  });

  it("does not restore a template made on another runtime, and prunes such templates", () => {
    store.commit(scratchTemplate("old", { runtime: "r0" }), "old");
    store.commit(scratchTemplate("new", { runtime: "r1" }), "new");
    expect(store.find("old", "r1")).toBeUndefined();
    store.commit(scratchTemplate("old2", { runtime: "r0" }), "old2");
    expect(store.prune("r1")).toEqual(["old2"]);
    expect(store.list().map((t) => t.meta.key)).toEqual(["new"]);
  });

  it("removes the templates of an image", () => {
    store.commit(scratchTemplate("a", { imageDigest: "sha256:aa" }), "a");
    store.commit(scratchTemplate("b", { imageDigest: "sha256:bb" }), "b");
    expect(store.removeForImage("sha256:aa")).toEqual(["a"]);
    expect(store.list().map((t) => t.meta.key)).toEqual(["b"]);
    expect(store.remove("a")).toBe(false);
  });

  it("links a template's files, which outlive its removal", () => {
    const template = store.commit(scratchTemplate("k1"), "k1");
    const links = {
      statePath: join(home, "s.state"),
      ramPath: join(home, "s.ram"),
      diskPath: join(home, "s.qcow2"),
    };
    store.link(template, links);
    expect(statSync(links.ramPath).ino).toBe(statSync(template.ramPath).ino);
    store.remove("k1");
    expect(readFileSync(links.statePath, "utf8")).toBe("device state of k1");
    expect(statSync(links.ramPath).size).toBe(1024 * 1024);
  });
});
