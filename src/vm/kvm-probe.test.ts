import { chmodSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { hostKvmStatus, tcgReason } from "./accel.js";
import { probeKvm, probeKvmCached } from "./kvm-probe.js";

/** How a stand-in QEMU behaves: each ends as the real one does in that case. */
const BEHAVIOURS = {
  // The kernel boots to its "no root" panic; with -no-reboot QEMU would exit (the probe needs no exit).
  boots:
    'echo "Linux version 6.1"; echo "Kernel panic - not syncing: VFS: Unable to mount root fs"; exec sleep 30',
  // QEMU aborts while setting up the vCPU (seen on a kvm-pvm host).
  aborts: 'echo "qemu: error: failed to set MSR 0x10a to 0x69" >&2; kill -ABRT $$',
  // The guest runs, then KVM cannot emulate an instruction: QEMU dumps the registers and stops the VM for good.
  stops:
    'echo "Linux version 6.1"; echo "KVM internal error. Suberror: 1" >&2; echo "RAX=0" >&2; exec sleep 30',
  // A guest that hangs silently.
  hangs: "exec sleep 30",
  // A triple fault: QEMU exits cleanly (-no-reboot) without the kernel having booted.
  resets: "exit 0",
} as const;

function fakeQemu(dir: string, behaviour: keyof typeof BEHAVIOURS): string {
  const path = join(dir, `qemu-${behaviour}`);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${join(dir, "runs")}\n${BEHAVIOURS[behaviour]}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe("the KVM probe", () => {
  let dir: string;
  let kernel: string;
  const makeDir = tempDirs("msb-kvm-probe-", { after: "each" });
  beforeEach(() => {
    dir = makeDir();
    writeFileSync(join(dir, "kvm"), ""); // a device that opens: the probe decides
    kernel = join(dir, "vmlinux");
    writeFileSync(kernel, "kernel");
  });
  const runs = (): string[] => readFileSync(join(dir, "runs"), "utf8").trim().split("\n");
  const probe = (behaviour: keyof typeof BEHAVIOURS, timeoutMs = 10_000) =>
    probeKvm({
      qemuBinary: fakeQemu(dir, behaviour),
      arch: "x86_64",
      kernel,
      cacheFile: "unused",
      timeoutMs,
    });

  it("boots the kernel under KVM with a sandbox's machine and CPU, and trusts its no-root panic", () => {
    const started = Date.now();
    expect(probe("boots")).toEqual({ usable: true });
    expect(Date.now() - started).toBeLessThan(5_000); // answered at the panic, without waiting for QEMU
    expect(runs()[0]).toMatch(
      /-M microvm\S* -accel kvm -cpu host .*-no-reboot -serial stdio -kernel \S+vmlinux/,
    );
  });

  it("reports QEMU's own words when the vCPU cannot be set up", () => {
    const result = probe("aborts");
    expect(result.usable).toBe(false);
    expect(result.reason).toMatch(/exited with signal SIGABRT .*: qemu: error: failed to set MSR 0x10a/);
  });

  it("answers unusable as soon as KVM stops the guest, not at the time limit", () => {
    const started = Date.now();
    const result = probe("stops", 20_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.usable).toBe(false);
    expect(result.reason).toMatch(/KVM stopped the guest kernel while it booted: KVM internal error/);
    // The reason keeps QEMU's first line; the register dump after it is only in the detail.
    expect(result.reason).not.toMatch(/RAX/);
    expect(result.qemuSaid).toBe("KVM internal error. Suberror: 1 | RAX=0");
  });

  it("gives up on a silent guest at the time limit, and on a QEMU that exits before the kernel booted", () => {
    expect(probe("hangs", 300).reason).toMatch(/did not boot under KVM within 300 ms/);
    expect(probe("resets").reason).toMatch(/exited with code 0 before the kernel booted/);
  });

  it("caches the answer until the QEMU binary or the kernel changes", () => {
    const qemu = fakeQemu(dir, "aborts");
    const options = {
      qemuBinary: qemu,
      arch: "x86_64" as const,
      kernel,
      cacheFile: join(dir, "c", "kvm.json"),
      device: join(dir, "kvm"),
    };
    const first = probeKvmCached(options);
    expect(first.usable).toBe(false);
    expect(probeKvmCached(options)).toEqual(first); // the reason and QEMU's words come back from the cache
    expect(runs()).toHaveLength(1);
    utimesSync(qemu, new Date(), new Date(Date.now() + 5_000)); // "QEMU upgraded"
    probeKvmCached(options);
    expect(runs()).toHaveLength(2);
    writeFileSync(kernel, "rebuilt kernel");
    probeKvmCached(options);
    expect(runs()).toHaveLength(3);
    writeFileSync(options.cacheFile, "{torn");
    probeKvmCached(options);
    expect(runs()).toHaveLength(4);
  });

  /** Where the host's KVM status is looked up: its own home (cache), a stand-in QEMU behaving as named. */
  const site = (behaviour: keyof typeof BEHAVIOURS) => ({
    home: join(dir, behaviour),
    qemuBinary: fakeQemu(dir, behaviour),
    arch: "x86_64" as const,
    kernel,
  });

  it("makes a device that opens but cannot boot the guest unusable, saying why and what to do", () => {
    const status = hostKvmStatus(site("stops"), join(dir, "kvm"));
    expect(status.usable).toBe(false);
    expect(status.reason).toMatch(/kvm opens, but KVM stopped the guest kernel/);
    expect(status.detail).toMatch(/RAX=0/);
    expect(status.fix).toMatch(/nested virtualization/);
    expect(hostKvmStatus(site("boots"), join(dir, "kvm")).usable).toBe(true);
  });

  it("says why VMs run under TCG: the setting, or what is wrong with KVM", () => {
    expect(tcgReason("tcg", site("stops"), join(dir, "kvm"))).toBe("MSB_ACCEL=tcg");
    expect(() => readFileSync(join(dir, "runs"))).toThrow(); // no probe was run for it
    expect(tcgReason(undefined, site("stops"), join(dir, "kvm"))).toMatch(
      /^no usable KVM: \S+kvm opens, but KVM stopped the guest kernel/,
    );
    expect(tcgReason(undefined, site("stops"), join(dir, "absent"))).toMatch(
      /^no usable KVM: \S+absent does not exist$/,
    );
  });
});
