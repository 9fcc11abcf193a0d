import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { kvmAccess } from "./accel.js";

describe("kvmAccess", () => {
  const makeDir = tempDirs("msb-kvm-", { after: "each" });

  it("says why KVM is not usable and what to do", () => {
    const missing = kvmAccess("/nonexistent/kvm", "linux");
    expect(missing).toMatchObject({ usable: false, reason: "/nonexistent/kvm does not exist" });
    expect(missing.fix).toMatch(/modprobe/);
    expect(kvmAccess("/dev/kvm", "darwin")).toMatchObject({ usable: false, reason: /Linux only/ });
  });

  it("accepts a device it can open read-write", () => {
    const dir = makeDir();
    const device = join(dir, "kvm");
    writeFileSync(device, "");
    expect(kvmAccess(device, "linux")).toEqual({ usable: true, reason: `${device} is usable` });
  });
});
