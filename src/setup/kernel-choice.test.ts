import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { archProfile } from "./arch.js";
import type { InstallContext } from "./context.js";
import { parseKernelFlavor, stageKernel } from "./kernel-choice.js";

describe("parseKernelFlavor", () => {
  it("accepts the two kernels and rejects anything else", () => {
    expect(parseKernelFlavor("microvm")).toBe("microvm");
    expect(parseKernelFlavor("debian")).toBe("debian");
    expect(() => parseKernelFlavor("custom")).toThrow(SetupError);
  });
});

describe("stageKernel", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "msb-kchoice-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("falls back to Debian's kernel when the microvm kernel cannot be had, saying why and how to retry", async () => {
    const lines: string[] = [];
    const ctx: InstallContext = {
      kernelDir: dir,
      workDir: dir,
      profile: archProfile("arm64"),
      apt: undefined,
      log: (line) => lines.push(line),
      force: false,
      kernelFlavor: "microvm",
      kernelBuildsDir: join(dir, "builds"),
      systemPackages: false,
    };
    // Without apt-get the Debian kernel cannot be downloaded either: the fallback's own error comes out.
    await expect(stageKernel(ctx, undefined)).rejects.toThrow(/downloaded from Debian's archive/);
    expect(lines.join("\n")).toMatch(/could not build the microvm kernel: .*only built for x86_64/);
    expect(lines.join("\n")).toMatch(/falling back to Debian's cloud kernel.*--kernel microvm --force/);
  });
});
