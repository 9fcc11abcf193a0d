import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostKvmStatus } from "./accel.js";
import { probeKvm, probeKvmCached } from "./kvm-probe.js";

/** A stand-in QEMU: logs each run, answers QMP on stdin like QEMU, then exits as told. */
function fakeQemu(dir: string, behaviour: "works" | "aborts"): string {
  const path = join(dir, `qemu-${behaviour}`);
  const tail =
    behaviour === "works"
      ? "cat >/dev/null; exit 0"
      : 'echo "qemu: error: failed to set MSR 0x10a to 0x69" >&2; kill -ABRT $$';
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${join(dir, "runs")}\n${tail}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("the KVM probe", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "msb-kvm-probe-"));
    writeFileSync(join(dir, "kvm"), ""); // a device that opens: the probe decides
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const runs = (): string[] => readFileSync(join(dir, "runs"), "utf8").trim().split("\n");

  it("runs QEMU paused under KVM with a sandbox's machine and CPU, and trusts a clean exit", () => {
    const qemu = fakeQemu(dir, "works");
    expect(probeKvm({ qemuBinary: qemu, arch: "x86_64", cacheFile: "unused" })).toEqual({ usable: true });
    expect(runs()[0]).toMatch(/-M microvm -accel kvm -cpu host .*-S .*-qmp stdio/);
  });

  it("reports QEMU's own words when the vCPU cannot be set up", () => {
    const qemu = fakeQemu(dir, "aborts");
    const result = probeKvm({ qemuBinary: qemu, arch: "x86_64", cacheFile: "unused" });
    expect(result.usable).toBe(false);
    expect(result.reason).toMatch(/signal SIGABRT: qemu: error: failed to set MSR 0x10a/);
  });

  it("caches the answer until the QEMU binary changes", () => {
    const qemu = fakeQemu(dir, "aborts");
    const options = {
      qemuBinary: qemu,
      arch: "x86_64" as const,
      cacheFile: join(dir, "c", "kvm.json"),
      device: join(dir, "kvm"),
    };
    expect(probeKvmCached(options).usable).toBe(false);
    expect(probeKvmCached(options).usable).toBe(false);
    expect(runs()).toHaveLength(1);
    utimesSync(qemu, new Date(), new Date(Date.now() + 5_000)); // "QEMU upgraded"
    probeKvmCached(options);
    expect(runs()).toHaveLength(2);
    writeFileSync(options.cacheFile, "{torn");
    probeKvmCached(options);
    expect(runs()).toHaveLength(3);
  });

  it("makes a device that opens but cannot run a vCPU unusable, saying why and what to do", () => {
    const status = hostKvmStatus(
      { home: dir, qemuBinary: fakeQemu(dir, "aborts"), arch: "x86_64" },
      join(dir, "kvm"),
    );
    expect(status.usable).toBe(false);
    expect(status.reason).toMatch(/kvm opens, but QEMU cannot run a KVM vCPU here/);
    expect(status.fix).toMatch(/nested virtualization/);
    const working = hostKvmStatus(
      { home: dir, qemuBinary: fakeQemu(dir, "works"), arch: "x86_64" },
      join(dir, "kvm"),
    );
    expect(working.usable).toBe(true);
  });
});
