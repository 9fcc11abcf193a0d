import { describe, expect, it } from "vitest";
import { BuildProgress, isBuildStep, progressBar } from "./kernel-build-progress.js";

describe("isBuildStep", () => {
  it("matches Kbuild step lines only", () => {
    expect(isBuildStep("  CC      kernel/fork.o")).toBe(true);
    expect(isBuildStep("  LD      vmlinux")).toBe(true);
    expect(isBuildStep("  HOSTCC  scripts/basic/fixdep")).toBe(true);
    expect(isBuildStep("make[1]: Entering directory '/x'")).toBe(false);
    expect(isBuildStep("kernel/fork.c:12: warning: unused")).toBe(false);
    expect(isBuildStep("")).toBe(false);
  });
});

describe("BuildProgress", () => {
  it("reports each 10 % mark once and never 100 % before make exits", () => {
    const progress = new BuildProgress(20, 10);
    const reports: number[] = [];
    for (let i = 0; i < 30; i++) {
      const p = progress.feed(`  CC      f${i}.o`);
      if (p !== undefined) reports.push(p);
      expect(progress.feed("noise")).toBeUndefined();
    }
    expect(reports).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(progress.steps).toBe(30);
    expect(progress.percent).toBe(99);
  });
});

describe("progressBar", () => {
  it("draws the filled share and the percentage", () => {
    expect(progressBar(0, 10)).toBe("[..........]   0%");
    expect(progressBar(45, 10)).toBe("[#####.....]  45%");
    expect(progressBar(100, 10)).toBe("[##########] 100%");
    expect(progressBar(150, 10)).toBe("[##########] 100%");
  });
});
