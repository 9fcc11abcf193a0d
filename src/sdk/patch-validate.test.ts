import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { validateSandboxConfig } from "./config.js";
import { Patch } from "../storage/patch.js";
import type { PatchConfig } from "../storage/patch.js";
import {
  netFileOf,
  PATCH_LIMITS,
  resolvePatchSources,
  validatePatches,
  validateScripts,
} from "../storage/patch-validate.js";

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return (err as InvalidConfigError).field;
  }
  throw new Error("did not throw");
}

describe("validatePatches", () => {
  it("accepts every builder, and the seed README's example", () => {
    expect(() => {
      validatePatches([
        Patch.text("/etc/greeting.txt", "Hello!\n"),
        Patch.mkdir("/app", { mode: 0o755 }),
        Patch.text("/app/config.json", '{"debug": true}', { mode: 0o644 }),
        Patch.copyDir("./scripts", "/app/scripts"),
        Patch.append("/etc/hosts", "127.0.0.1 myapp.local\n"),
        Patch.copyFile("a", "/b", { mode: 0o600, replace: true }),
        Patch.symlink("../x", "/y", { replace: true }),
        Patch.remove("/z"),
        { kind: "file", path: "/f", content: "x" },
        Patch.text("/etc/resolv.conf", "nameserver 10.0.0.1\n", { replace: true }),
      ]);
    }).not.toThrow();
    expect(() =>
      validateSandboxConfig({ name: "a", image: "alpine", patches: [], scripts: {} }),
    ).not.toThrow();
  });

  it("names the field of each mistake", () => {
    const cases: [unknown, string][] = [
      ["nope", "patches"],
      [[42], "patches[0]"],
      [[{ kind: "chmod", path: "/a" }], "patches[0].kind"],
      [[Patch.mkdir("/a"), { kind: "text", path: "/b" }], "patches[1].content"],
      [[{ kind: "remove", path: "/a", mode: 0o644 }], "patches[0].mode"],
      [[Patch.text("etc/x", "x")], "patches[0].path"],
      [[Patch.text("/", "x")], "patches[0].path"],
      [[Patch.text("/a\0b", "x")], "patches[0].path"],
      [[Patch.copyFile("a", "b")], "patches[0].dst"],
      [[Patch.symlink("", "/l")], "patches[0].target"],
      [[Patch.symlink("t", "l")], "patches[0].link"],
      [[Patch.text("/a", "x", { mode: 0o10000 })], "patches[0].mode"],
      [[Patch.text("/a", "x", { mode: 1.5 })], "patches[0].mode"],
      [[{ kind: "text", path: "/a", content: 7 }], "patches[0].content"],
      [[{ kind: "text", path: "/a", content: "x", replace: "yes" }], "patches[0].replace"],
      [[{ kind: "copyDir", src: "", dst: "/d" }], "patches[0].src"],
      // The generated network files: only text (replacing) and append, no mode.
      [[Patch.mkdir("/etc/hosts")], "patches[0].path"],
      [[Patch.copyFile("f", "/etc/resolv.conf", { replace: true })], "patches[0].dst"],
      [[Patch.text("/etc/hosts", "x")], "patches[0].replace"],
      [[Patch.text("/etc/../etc/hosts", "x", { mode: 0o600, replace: true })], "patches[0].mode"],
      [[Patch.append("/etc/hosts", "x".repeat(PATCH_LIMITS.maxNetFileBytes + 1))], "patches[0].content"],
      [[Patch.text("/a", "x".repeat(PATCH_LIMITS.maxContentBytes + 1))], "patches[0].content"],
    ];
    for (const [patches, field] of cases)
      expect(
        fieldOf(() => {
          validatePatches(patches);
        }),
        field,
      ).toBe(field);
    expect(
      fieldOf(() => {
        validatePatches(new Array(PATCH_LIMITS.maxPatches + 1).fill(Patch.remove("/a")));
      }),
    ).toBe("patches");
    expect(
      fieldOf(() => validateSandboxConfig({ name: "a", image: "b", patches: [Patch.text("x", "")] })),
    ).toBe("patches[0].path");
  });

  it("knows the generated network files whatever the spelling of the path", () => {
    expect(netFileOf("/etc/hosts")).toBe("hosts");
    expect(netFileOf("/etc//./resolv.conf")).toBe("resolvConf");
    expect(netFileOf("/etc/hosts.allow")).toBeUndefined();
  });
});

describe("resolvePatchSources", () => {
  const dir = tempDirs("msb-patch-src-")();
  mkdirSync(join(dir, "tree"));
  writeFileSync(join(dir, "file"), "x");

  it("stores host sources absolute, resolved against the cwd, and leaves the rest as they are", () => {
    const text = Patch.text("/a", "x");
    const out = resolvePatchSources(
      [
        text,
        Patch.copyFile("file", "/f"),
        Patch.copyDir("./tree", "/t"),
        Patch.copyDir(join(dir, "tree"), "/u"),
      ],
      dir,
    );
    expect(out[0]).toBe(text);
    expect(out.slice(1).map((p: PatchConfig) => p.src)).toEqual([
      join(dir, "file"),
      join(dir, "tree"),
      join(dir, "tree"),
    ]);
  });

  it("refuses a missing source, a directory for copyFile and a file for copyDir", () => {
    expect(fieldOf(() => resolvePatchSources([Patch.remove("/a"), Patch.copyFile("nope", "/f")], dir))).toBe(
      "patches[1].src",
    );
    expect(() => resolvePatchSources([Patch.copyFile("tree", "/f")], dir)).toThrow(/is a directory/);
    expect(() => resolvePatchSources([Patch.copyDir("file", "/f")], dir)).toThrow(/is not a directory/);
  });
});

describe("validateScripts", () => {
  it("takes file names and bounded bodies", () => {
    expect(() => {
      validateScripts({ hello: "#!/bin/sh\necho hi\n", "run-tests.sh": "" });
    }).not.toThrow();
    const cases: [unknown, string][] = [
      [["a"], "scripts"],
      [{ "a/b": "x" }, "scripts.a/b"],
      [{ ".": "x" }, "scripts.."],
      [{ "..": "x" }, "scripts..."],
      [{ "": "x" }, "scripts."],
      [{ ok: 1 }, "scripts.ok"],
      [{ big: "x".repeat(PATCH_LIMITS.maxScriptBytes + 1) }, "scripts.big"],
    ];
    for (const [scripts, field] of cases)
      expect(
        fieldOf(() => {
          validateScripts(scripts);
        }),
        field,
      ).toBe(field);
  });
});
