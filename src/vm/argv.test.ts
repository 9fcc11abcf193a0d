import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { detectAccelerator } from "./accel.js";
import { buildQemuArgv, kernelCmdline, qemuBinaryName } from "./argv.js";
import type { VmConfig } from "./config.js";

const rootDisk = {
  id: "root",
  path: "/d/root,1.qcow2",
  format: "qcow2",
  readonly: false,
  serial: "root",
} as const;

const base: VmConfig = {
  arch: "x86_64",
  accel: "tcg",
  cpus: 2,
  memoryMib: 512,
  kernel: "/k/vmlinux",
  initrd: "/k/initrd",
  cmdline: ["console=ttyS0", "quiet"],
  disks: [rootDisk],
  shares: [],
  agentSocket: "/run/a.sock",
  qmpSocket: "/run/q.sock",
  consoleLog: "/run/console.log",
  network: { kind: "none" },
};

function optionOf(argv: string[], flag: string): string[] {
  return argv.flatMap((arg, i) => (arg === flag ? [argv[i + 1] ?? ""] : []));
}

describe("buildQemuArgv", () => {
  it("puts guest RAM in a template file, shared to make a template and private to restore one", () => {
    const saving = buildQemuArgv({ ...base, ramFile: { path: "/t/r,am", shared: true } });
    expect(optionOf(saving, "-M")).toEqual([
      "microvm,x-option-roms=off,isa-serial=on,rtc=on,memory-backend=mem",
    ]);
    expect(optionOf(saving, "-object")).toEqual([
      "memory-backend-file,id=mem,size=512M,mem-path=/t/r,,am,share=on",
    ]);
    expect(optionOf(saving, "-incoming")).toEqual([]);
    const restoring = buildQemuArgv({ ...base, ramFile: { path: "/t/ram", shared: false }, incoming: true });
    expect(optionOf(restoring, "-object")).toEqual([
      "memory-backend-file,id=mem,size=512M,mem-path=/t/ram,share=off",
    ]);
    expect(optionOf(restoring, "-incoming")).toEqual(["defer"]);
    // Memory and CPU state come from the template: no kernel to read.
    expect(optionOf(saving, "-kernel")).toHaveLength(1);
    for (const boot of ["-kernel", "-initrd", "-append"]) expect(optionOf(restoring, boot)).toEqual([]);
  });

  it("refuses a template RAM file together with virtio-fs shares (they need a memfd)", () => {
    const shares = [{ tag: "vol0", socketPath: "/run/fs0.sock" }];
    expect(() => buildQemuArgv({ ...base, shares, ramFile: { path: "/t/ram", shared: false } })).toThrow(
      InvalidConfigError,
    );
  });

  it("turns microvm's ACPI tables off only when asked (the microvm kernel)", () => {
    expect(optionOf(buildQemuArgv({ ...base, acpi: true }), "-M")).toEqual([
      "microvm,x-option-roms=off,isa-serial=on,rtc=on",
    ]);
    expect(optionOf(buildQemuArgv({ ...base, acpi: false }), "-M")).toEqual([
      "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off",
    ]);
  });

  it("builds a microvm command line for x86_64 under TCG", () => {
    const argv = buildQemuArgv(base);
    expect(optionOf(argv, "-M")).toEqual(["microvm,x-option-roms=off,isa-serial=on,rtc=on"]);
    // every CPU feature TCG emulates, but not the "fast string" bits that make the guest copy memory byte by byte
    expect(optionOf(argv, "-cpu")).toEqual(["max,-erms,-fsrm"]);
    expect(optionOf(argv, "-accel")).toEqual(["tcg,tb-size=128"]); // a bounded translation cache
    expect(optionOf(argv, "-smp")).toEqual(["2"]);
    expect(optionOf(argv, "-m")).toEqual(["512M"]);
    expect(optionOf(argv, "-append")).toEqual(["console=ttyS0 quiet"]);
    expect(argv).toContain("-no-reboot");
    expect(argv).toContain("-nodefaults");
    expect(optionOf(argv, "-qmp")).toEqual(["unix:/run/q.sock,server=on,wait=off"]);
    expect(optionOf(argv, "-device")).toContain("virtserialport,chardev=agent,name=agent");
  });

  it("escapes commas in paths and attaches disks with their serial", () => {
    const argv = buildQemuArgv(base);
    expect(optionOf(argv, "-drive")[0]).toContain("file=/d/root,,1.qcow2,format=qcow2");
    expect(optionOf(argv, "-device")).toContain("virtio-blk-device,drive=root,serial=root");
  });

  it("attaches read-only disks read-only", () => {
    const disk = { id: "base", path: "/b.ext4", format: "raw", readonly: true, serial: "base" } as const;
    const argv = buildQemuArgv({ ...base, disks: [disk] });
    expect(optionOf(argv, "-drive")[0]).toContain("readonly=on");
    expect(optionOf(argv, "-drive")[0]).not.toContain("discard");
  });

  it("uses the host CPU with KVM and the virt machine on arm64", () => {
    expect(optionOf(buildQemuArgv({ ...base, accel: "kvm" }), "-cpu")).toEqual(["host"]);
    expect(optionOf(buildQemuArgv({ ...base, arch: "aarch64" }), "-M")[0]).toMatch(/^virt/);
    expect(optionOf(buildQemuArgv({ ...base, arch: "aarch64" }), "-cpu")).toEqual(["max"]);
    expect(qemuBinaryName("aarch64")).toBe("qemu-system-aarch64");
  });

  it("connects a stream netdev when asked", () => {
    const argv = buildQemuArgv({
      ...base,
      network: { kind: "stream", socketPath: "/run/net.sock", mac: "52:54:00:12:34:56" },
    });
    expect(optionOf(argv, "-netdev")).toEqual([
      "stream,id=net0,server=off,addr.type=unix,addr.path=/run/net.sock",
    ]);
  });

  it("shares folders over vhost-user-fs with guest RAM in a shared memfd and modern virtio-mmio", () => {
    const argv = buildQemuArgv({
      ...base,
      shares: [
        { tag: "vol0", socketPath: "/run/fs0.sock" },
        { tag: "vol1", socketPath: "/run/a,b/fs1.sock" },
      ],
    });
    expect(optionOf(argv, "-M")).toEqual([
      "microvm,x-option-roms=off,isa-serial=on,rtc=on,memory-backend=mem",
    ]);
    expect(optionOf(argv, "-object")).toEqual(["memory-backend-memfd,id=mem,size=512M,share=on"]);
    expect(optionOf(argv, "-m")).toEqual(["512M"]);
    expect(optionOf(argv, "-global")).toEqual(["virtio-mmio.force-legacy=false"]);
    expect(optionOf(argv, "-chardev")).toEqual(
      expect.arrayContaining(["socket,id=fs0,path=/run/fs0.sock", "socket,id=fs1,path=/run/a,,b/fs1.sock"]),
    );
    expect(optionOf(argv, "-device")).toEqual(
      expect.arrayContaining([
        "vhost-user-fs-device,chardev=fs0,tag=vol0",
        "vhost-user-fs-device,chardev=fs1,tag=vol1",
      ]),
    );
    expect(
      optionOf(buildQemuArgv({ ...base, arch: "aarch64", shares: [{ tag: "t", socketPath: "/s" }] }), "-M"),
    ).toEqual(["virt,gic-version=max,memory-backend=mem"]);
  });

  it("changes nothing for a VM without shares", () => {
    const argv = buildQemuArgv(base);
    expect(optionOf(argv, "-object")).toEqual([]);
    expect(optionOf(argv, "-global")).toEqual([]);
    expect(argv.join(" ")).not.toContain("vhost-user");
  });

  it.each([
    [{ shares: [{ tag: "a b", socketPath: "/s" }] }, "shares.tag"],
    [{ shares: [{ tag: "x".repeat(37), socketPath: "/s" }] }, "shares.tag"],
    [
      {
        shares: [
          { tag: "t", socketPath: "/s" },
          { tag: "t", socketPath: "/s2" },
        ],
      },
      "shares.tag",
    ],
    [{ cpus: 0 }, "cpus"],
    [{ cpus: 1.5 }, "cpus"],
    [{ memoryMib: 16 }, "memoryMib"],
    [{ disks: [{ ...rootDisk, serial: "a,b" }] }, "disks.serial"],
    [{ disks: [rootDisk, rootDisk] }, "disks.id"],
  ])("rejects %j naming the field", (over, field) => {
    expect(() => buildQemuArgv({ ...base, ...over })).toThrow(InvalidConfigError);
    try {
      buildQemuArgv({ ...base, ...over });
    } catch (err) {
      expect((err as InvalidConfigError).field).toBe(field);
    }
  });
});

describe("kernelCmdline", () => {
  it("passes tsc_early_khz only under TCG on x86_64", () => {
    expect(kernelCmdline({ arch: "x86_64", accel: "tcg", tscKhz: 2095991.6 })).toContain(
      "tsc_early_khz=2095992",
    );
    expect(kernelCmdline({ arch: "x86_64", accel: "kvm", tscKhz: 2095991 }).join(" ")).not.toContain(
      "tsc_early",
    );
    expect(kernelCmdline({ arch: "aarch64", accel: "tcg" })).toContain("console=ttyAMA0");
  });

  it("gives the microvm kernel the APIC timer's clock under TCG only", () => {
    const microvm = { arch: "x86_64", kernelFlavor: "microvm" } as const;
    expect(kernelCmdline({ ...microvm, accel: "tcg" })).toContain("lapic_bus_hz=1000000000");
    expect(kernelCmdline({ ...microvm, accel: "kvm" }).join(" ")).not.toContain("lapic_bus_hz");
    expect(kernelCmdline({ arch: "x86_64", accel: "tcg", kernelFlavor: "debian" }).join(" ")).not.toContain(
      "lapic_bus_hz",
    );
  });

  it("keeps the kernel's SMP code on one vCPU under TCG only", () => {
    expect(kernelCmdline({ arch: "x86_64", accel: "tcg" })).toContain("noreplace-smp");
    expect(kernelCmdline({ arch: "x86_64", accel: "kvm" })).not.toContain("noreplace-smp");
    expect(kernelCmdline({ arch: "aarch64", accel: "tcg" })).not.toContain("noreplace-smp");
  });

  it("turns the guest's address-space randomization off under TCG only, unless asked to keep it", () => {
    expect(kernelCmdline({ arch: "x86_64", accel: "tcg" })).toContain("norandmaps");
    expect(kernelCmdline({ arch: "aarch64", accel: "tcg" })).toContain("norandmaps");
    expect(kernelCmdline({ arch: "x86_64", accel: "tcg", guestAslr: true })).not.toContain("norandmaps");
    expect(kernelCmdline({ arch: "x86_64", accel: "kvm" })).not.toContain("norandmaps");
  });

  it("skips the IO-APIC timer check on x86_64 only", () => {
    expect(kernelCmdline({ arch: "x86_64", accel: "kvm" })).toContain("no_timer_check");
    expect(kernelCmdline({ arch: "aarch64", accel: "tcg" })).not.toContain("no_timer_check");
  });
});

describe("detectAccelerator", () => {
  const probe = (platform: NodeJS.Platform, kvm: boolean, forced?: string) => ({
    platform,
    forced,
    kvmUsable: () => kvm,
  });
  it("prefers KVM, then HVF, then TCG", () => {
    expect(detectAccelerator(probe("linux", true))).toBe("kvm");
    expect(detectAccelerator(probe("linux", false))).toBe("tcg");
    expect(detectAccelerator(probe("darwin", false))).toBe("hvf");
  });
  it("honours a forced accelerator and rejects unknown ones", () => {
    expect(detectAccelerator(probe("linux", true, "tcg"))).toBe("tcg");
    expect(() => detectAccelerator(probe("linux", true, "xen"))).toThrow(/unknown accelerator/);
  });
});
