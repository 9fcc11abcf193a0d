import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RuntimeNotInstalledError } from "../errors.js";
import { isInstalled, runtimeArtifacts } from "./artifacts.js";
import { SAMPLE_MANIFEST } from "./__fixtures__/manifest.js";
import { writeManifest, type Manifest } from "./manifest.js";
import { REQUESTED_MODULES } from "./modules.js";

const manifest: Manifest = {
  ...SAMPLE_MANIFEST,
  arch: process.arch === "arm64" ? "aarch64" : "x86_64",
  modules: { requested: [...REQUESTED_MODULES], files: ["virtio.ko"], virtiofs: ["virtiofs.ko"] },
};

describe("runtimeArtifacts / isInstalled", () => {
  let home: string;
  let kernelDir: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "msb-home-"));
    kernelDir = join(home, "kernel");
    await mkdir(join(kernelDir, "modules"), { recursive: true });
    await writeFile(join(kernelDir, "vmlinux"), "abc");
    await writeFile(join(kernelDir, "initramfs.cpio"), "abcd");
    await writeFile(join(kernelDir, "agent"), "abcde");
    await writeFile(join(kernelDir, "modules", "virtio.ko"), "");
    await writeFile(join(kernelDir, "modules", "virtiofs.ko"), "");
    vi.stubEnv("MSB_QEMU", "/bin/true");
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(home, { recursive: true, force: true });
  });

  it("is not installed without a manifest, and says so", () => {
    expect(isInstalled({ home })).toBe(false);
    expect(() => runtimeArtifacts({ home })).toThrow(RuntimeNotInstalledError);
    expect(() => runtimeArtifacts({ home })).toThrow(/manifest\.json does not exist/);
  });

  it("returns absolute paths and facts of a complete install", async () => {
    await writeManifest(kernelDir, manifest);
    expect(isInstalled({ home })).toBe(true);
    expect(runtimeArtifacts({ home })).toEqual({
      kernel: join(kernelDir, "vmlinux"),
      initrd: join(kernelDir, "initramfs.cpio"),
      agent: join(kernelDir, "agent"),
      kernelVersion: "6.1.0-56-cloud-amd64",
      qemuBinary: "/bin/true",
      arch: manifest.arch,
      kernelFormat: "pvh-vmlinux",
      kernelFlavor: "debian",
    });
  });

  it("accepts a microvm kernel with no modules, and only with none requested", async () => {
    const microvm: Manifest = {
      ...manifest,
      kernel: { ...manifest.kernel, flavor: "microvm", buildKey: "k", sourceSha256: "s" },
      modules: { requested: [], files: [], virtiofs: [] },
    };
    await writeManifest(kernelDir, microvm);
    expect(runtimeArtifacts({ home }).kernelFlavor).toBe("microvm");
    await writeManifest(kernelDir, { ...microvm, modules: manifest.modules });
    expect(() => runtimeArtifacts({ home })).toThrow(/kernel modules/);
  });

  it("names every missing or truncated file", async () => {
    await writeManifest(kernelDir, manifest);
    await rm(join(kernelDir, "agent"));
    await rm(join(kernelDir, "modules", "virtio.ko"));
    await writeFile(join(kernelDir, "vmlinux"), "a");
    expect(isInstalled({ home })).toBe(false);
    expect(() => runtimeArtifacts({ home })).toThrow(/agent is missing.*virtio\.ko is missing/);
    expect(() => runtimeArtifacts({ home })).toThrow(/vmlinux has the wrong size/);
  });

  it("is not installed when the module list changed since the install", async () => {
    await writeManifest(kernelDir, {
      ...manifest,
      modules: { requested: ["virtio_blk"], files: ["virtio.ko"], virtiofs: [] },
    });
    expect(() => runtimeArtifacts({ home })).toThrow(/kernel modules/);
  });
});
