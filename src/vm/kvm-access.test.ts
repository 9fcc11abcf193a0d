import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kvmAccess } from "./accel.js";

describe("kvmAccess", () => {
  it("says why KVM is not usable and what to do", () => {
    const missing = kvmAccess("/nonexistent/kvm", "linux");
    expect(missing).toMatchObject({ usable: false, reason: "/nonexistent/kvm does not exist" });
    expect(missing.fix).toMatch(/modprobe/);
    expect(kvmAccess("/dev/kvm", "darwin")).toMatchObject({ usable: false, reason: /Linux only/ });
  });

  it("accepts a device it can open read-write", () => {
    const dir = mkdtempSync(join(tmpdir(), "msb-kvm-"));
    try {
      const device = join(dir, "kvm");
      writeFileSync(device, "");
      expect(kvmAccess(device, "linux")).toEqual({ usable: true, reason: `${device} is usable` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
