import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildElf } from "./__fixtures__/elf.js";
import { archProfile } from "./arch.js";
import { PT_INTERP } from "./elf.js";
import { checkAgentSourceDir, hashAgentSources, verifyStaticExecutable } from "./agent-build.js";

describe("hashAgentSources", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-agent-src-"));
    await writeFile(join(dir, "go.mod"), "module agent\n\ngo 1.19\n");
    await writeFile(join(dir, "main.go"), "package main\n");
    await mkdir(join(dir, "internal", "x"), { recursive: true });
    await writeFile(join(dir, "internal", "x", "x.go"), "package x\n");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("changes with source content and file names", async () => {
    const first = await hashAgentSources(dir);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashAgentSources(dir)).toBe(first);
    await writeFile(join(dir, "internal", "x", "x.go"), "package x // changed\n");
    const second = await hashAgentSources(dir);
    expect(second).not.toBe(first);
    await writeFile(join(dir, "extra.go"), "package main\n");
    expect(await hashAgentSources(dir)).not.toBe(second);
  });

  it("ignores tests, testdata, hidden directories and bin/", async () => {
    const first = await hashAgentSources(dir);
    await writeFile(join(dir, "main_test.go"), "package main\n");
    await mkdir(join(dir, "testdata"));
    await writeFile(join(dir, "testdata", "v.json"), "{}");
    await mkdir(join(dir, ".cache"));
    await writeFile(join(dir, ".cache", "x"), "x");
    await mkdir(join(dir, "bin"));
    await writeFile(join(dir, "bin", "agent"), "binary");
    expect(await hashAgentSources(dir)).toBe(first);
  });

  it("fails clearly when the directory does not exist", async () => {
    await expect(checkAgentSourceDir(join(dir, "absent"))).rejects.toThrow(/agent sources are missing/);
    await expect(hashAgentSources(join(dir, "absent"))).rejects.toThrow(/agent sources are missing/);
  });
});

describe("verifyStaticExecutable", () => {
  const x64 = archProfile("x64");

  it("accepts a static executable for the guest machine", () => {
    expect(() => {
      verifyStaticExecutable(buildElf({ type: 2, machine: 62 }), x64, "agent");
    }).not.toThrow();
  });

  it("rejects dynamic, foreign and non-executable files", () => {
    const dynamic = buildElf({
      type: 2,
      machine: 62,
      segments: [{ type: PT_INTERP, data: Buffer.from("/lib64/ld.so\0") }],
    });
    expect(() => {
      verifyStaticExecutable(dynamic, x64, "agent");
    }).toThrow(/dynamically linked/);
    expect(() => {
      verifyStaticExecutable(buildElf({ type: 2, machine: 183 }), x64, "agent");
    }).toThrow(/not x86_64/);
    expect(() => {
      verifyStaticExecutable(buildElf({ type: 1, machine: 62 }), x64, "agent");
    }).toThrow(/not an executable/);
  });
});
