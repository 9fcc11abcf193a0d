import { describe, expect, it } from "vitest";
import { chooseCpuPin, pinnedArgv, wantsCpuPin } from "./cpu-pin.js";

describe("which VMs run on one host CPU", () => {
  const shape = { accel: "tcg" as const, cpus: 1, shares: 1, enabled: true };

  it("a one-vCPU TCG VM with host folders, unless turned off", () => {
    expect(wantsCpuPin(shape)).toBe(true);
    expect(wantsCpuPin({ ...shape, enabled: false })).toBe(false);
  });

  it("not without shares, with more vCPUs, or under KVM", () => {
    expect(wantsCpuPin({ ...shape, shares: 0 })).toBe(false);
    expect(wantsCpuPin({ ...shape, cpus: 2 })).toBe(false);
    expect(wantsCpuPin({ ...shape, accel: "kvm" })).toBe(false);
    expect(chooseCpuPin({ ...shape, shares: 0, qemuBinary: "/usr/bin/qemu-system-x86_64" })).toBeUndefined();
  });

  it("runs the command through taskset, which keeps the pid", () => {
    expect(pinnedArgv({ cpu: 1, taskset: "/usr/bin/taskset" }, ["/usr/bin/qemu", "-S"])).toEqual([
      "/usr/bin/taskset",
      "-c",
      "1",
      "/usr/bin/qemu",
      "-S",
    ]);
    expect(pinnedArgv(undefined, ["/usr/bin/qemu", "-S"])).toEqual(["/usr/bin/qemu", "-S"]);
  });
});
