import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { archProfile } from "./arch.js";
import { ensureHostTools, kernelBuildTools, missingTools, requiredTools } from "./system-deps.js";

describe("requiredTools", () => {
  it("maps each architecture to its QEMU package and kernel tools", () => {
    const x64 = requiredTools(archProfile("x64"));
    expect(x64.map((t) => `${t.binary}:${t.debianPackage}`)).toEqual([
      "qemu-system-x86_64:qemu-system-x86",
      "qemu-img:qemu-utils",
      "mke2fs:e2fsprogs",
      "go:golang-go",
      "dpkg-deb:dpkg",
      "lz4:lz4",
    ]);
    const arm = requiredTools(archProfile("arm64"));
    expect(arm[0]).toMatchObject({ binary: "qemu-system-aarch64", debianPackage: "qemu-system-arm" });
    expect(arm.some((t) => t.binary === "lz4")).toBe(false);
  });

  it("rejects unsupported architectures", () => {
    expect(() => archProfile("riscv64")).toThrow(SetupError);
  });
});

describe("ensureHostTools", () => {
  it("names the missing programs and the apt command when it may not install", async () => {
    const profile = { ...archProfile("x64"), qemuBinary: "qemu-system-msb-test-absent" };
    const attempt = ensureHostTools({ profile, systemPackages: false, apt: undefined, log: () => undefined });
    await expect(attempt).rejects.toThrow(/qemu-system-msb-test-absent .*install them by hand/);
  });
});

describe("kernelBuildTools", () => {
  it("checks libraries by their header file and reports what is absent", async () => {
    const tools = kernelBuildTools();
    expect(tools.find((t) => t.debianPackage === "libelf-dev")?.file).toBe("/usr/include/libelf.h");
    const absent = {
      binary: "absent.h",
      file: "/nonexistent/msb-test/absent.h",
      debianPackage: "x",
      purpose: "y",
    };
    expect(missingTools([absent])).toEqual([absent]);
    const attempt = ensureHostTools({
      profile: archProfile("x64"),
      systemPackages: false,
      apt: undefined,
      log: () => undefined,
      tools: [absent],
    });
    await expect(attempt).rejects.toThrow(/absent\.h \(y\)/);
  });
});
