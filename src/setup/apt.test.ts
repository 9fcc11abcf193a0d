import { mkdtemp, rm, utimes, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { aptListsStamp, parseKernelDependency, parsePackageInfo } from "./apt.js";

const SHOW = `Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Installed-Size: 13
Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)
Description: Linux for x86-64 cloud (meta-package)

Package: linux-image-cloud-amd64
Version: 6.1.176-1
Depends: linux-image-6.1.0-50-cloud-amd64 (= 6.1.176-1)
`;

describe("parseKernelDependency", () => {
  it("takes the first stanza's version and pinned image dependency", () => {
    expect(parseKernelDependency(SHOW)).toEqual({
      metaVersion: "6.1.192-2",
      dependency: { name: "linux-image-6.1.0-56-cloud-amd64", version: "6.1.192-2" },
    });
  });

  it("handles unpinned dependencies and alternatives", () => {
    const show =
      "Package: m\nVersion: 1\nDepends: initramfs-tools | linux-initramfs-tool, linux-image-6.12.0-1-cloud-arm64\n";
    expect(parseKernelDependency(show)?.dependency).toEqual({
      name: "linux-image-6.12.0-1-cloud-arm64",
      version: undefined,
    });
  });

  it("is undefined without a kernel dependency", () => {
    expect(parseKernelDependency("Package: x\nVersion: 1\nDepends: libc6\n")).toBeUndefined();
    expect(parseKernelDependency("")).toBeUndefined();
  });
});

describe("aptListsStamp", () => {
  it("changes when a list file changes and ignores lock/partial", async () => {
    const dir = await mkdtemp(join(tmpdir(), "msb-lists-"));
    try {
      await writeFile(join(dir, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"), "a");
      const first = await aptListsStamp(dir);
      await writeFile(join(dir, "lock"), "");
      await mkdir(join(dir, "partial"));
      expect(await aptListsStamp(dir)).toBe(first);
      await utimes(join(dir, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"), 1, 1);
      expect(await aptListsStamp(dir)).not.toBe(first);
      expect(await aptListsStamp(join(dir, "absent"))).toMatch(/^[0-9a-f]{16}$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("parsePackageInfo", () => {
  const sha = "5259c57ca92092da39bd2ea803046da0e3c28f2b6a11ea20f6297468188ceb67";
  it("takes the first stanza's package, version and .deb SHA-256", () => {
    const show = `Package: linux-source-6.1\nVersion: 6.1.192-3\nSHA256: ${sha}\n\nPackage: linux-source-6.1\nVersion: 6.1.176-1\nSHA256: ${"0".repeat(64)}\n`;
    expect(parsePackageInfo(show)).toEqual({ name: "linux-source-6.1", version: "6.1.192-3", sha256: sha });
  });

  it("returns undefined without a well-formed SHA256 field", () => {
    expect(parsePackageInfo("Package: a\nVersion: 1\n")).toBeUndefined();
    expect(parsePackageInfo("Package: a\nVersion: 1\nSHA256: xyz\n")).toBeUndefined();
  });
});
