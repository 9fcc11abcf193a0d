/**
 * What real images need from the guest kernel, whichever one set-up installed (Debian's by default, or
 * `microvm`): cgroups v2 with the usual controllers, seccomp filters, every namespace kind, the filesystems the
 * agent and users mount, and the microvm kernel's own traits (its release suffix, no modules, overlayfs built in
 * (a module Debian's initramfs does not carry), /proc/config.gz, and under TCG the APIC timer clock from the
 * command line instead of a calibration, with timers that still fire on time, and a CPU without the fast-string
 * bits that TCG emulates slowly, and no address-space randomization unless asked).
 */
import { describe, expect, it } from "vitest";
import { Sandbox } from "../../src/index.js";
import { runtimeArtifacts } from "../../src/setup/index.js";
import { hostAccelerator } from "../../src/vm/accel.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();

describe("the guest kernel", () => {
  it("gives images cgroups v2, seccomp, namespaces and the filesystems they mount", async () => {
    const sandbox = await Sandbox.create({ name: "kernel-features", image: "alpine:latest" });
    try {
      const run = async (script: string): Promise<string> => {
        const out = await sandbox.shell(script);
        expect(out.code, out.stderr()).toBe(0);
        return out.stdout();
      };
      const controllers = (await run("cat /sys/fs/cgroup/cgroup.controllers")).trim().split(" ");
      expect(controllers).toEqual(expect.arrayContaining(["cpu", "memory", "pids", "io", "cpuset"]));
      expect(await run("grep '^Seccomp:' /proc/self/status")).toMatch(/^Seccomp:\s+\d$/m);
      expect(await run("cat /proc/sys/kernel/seccomp/actions_avail")).toMatch(/\bkill_process\b.*\ballow\b/);
      const namespaces = (await run("ls /proc/self/ns")).trim().split(/\s+/);
      expect(namespaces).toEqual(
        expect.arrayContaining(["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"]),
      );
      // A new user + pid + net + mount + uts + ipc namespace really works, as nested containers need.
      expect(await run("unshare -U -r -p -f -n -m -u -i sh -c 'hostname inner && hostname && id -u'")).toBe(
        "inner\n0\n",
      );
      const filesystems = await run("cat /proc/filesystems");
      for (const fs of ["ext4", "tmpfs", "devpts", "cgroup2", "proc", "sysfs", "devtmpfs"]) {
        expect(filesystems).toMatch(new RegExp(`\\s${fs}$`, "m"));
      }
      if (hostAccelerator() === "tcg") {
        expect(await run("cat /proc/cmdline")).toMatch(/\bnoreplace-smp\b/); // either kernel
        // The CPU runs x86-64-v3 code (AVX2, BMI2, MOVBE...) but does not claim fast `rep movsb`, which TCG
        // emulates a byte at a time: the kernel and libc then copy memory with word and vector loops.
        // Address-space randomization is off, so processes reuse the translations of their libraries.
        expect(await run("cat /proc/cmdline")).toMatch(/\bnorandmaps\b/);
        expect(await run("cat /proc/sys/kernel/randomize_va_space")).toBe("0\n");
        if (process.arch === "x64") {
          const flags = (await run("grep -m1 '^flags' /proc/cpuinfo")).trim().split(/\s+/);
          expect(flags).toEqual(expect.arrayContaining(["avx2", "bmi2", "movbe", "sse4_2", "fma"]));
          expect(flags).not.toContain("erms");
          expect(flags).not.toContain("fsrm");
        }
      }
      // IPv6 is built in (the agent, a Go program, already exercises epoll, eventfd, futexes and timers).
      expect(await run("test -e /proc/net/if_inet6 && echo ipv6")).toBe("ipv6\n");
      if (runtimeArtifacts().kernelFlavor === "microvm") {
        expect(await run("uname -r")).toMatch(/-microsandbox\n$/);
        expect(filesystems).toMatch(/\soverlay$/m);
        expect(await run("test -e /proc/modules && echo modules || echo none")).toBe("none\n");
        expect(await run("zcat /proc/config.gz | grep -E '^CONFIG_(VIRTIO_FS|PCI)='")).toBe(
          "CONFIG_VIRTIO_FS=y\n",
        );
        if (hostAccelerator() === "tcg") {
          expect(await run("cat /proc/cmdline")).toMatch(/\blapic_bus_hz=1000000000\b/);
        }
      }
      // Timers fire on time (a wrong APIC timer period would make a 1 s sleep last 2 s, or never end), measured
      // by the guest's own clock (the TSC, independent of the APIC timer), and the local timer does interrupt.
      const [before, after] = (await run("cut -d' ' -f1 /proc/uptime; sleep 1; cut -d' ' -f1 /proc/uptime"))
        .trim()
        .split("\n")
        .map(Number);
      expect((after ?? 0) - (before ?? 0)).toBeGreaterThanOrEqual(0.99);
      expect((after ?? 0) - (before ?? 0)).toBeLessThan(1.6);
      expect(Number(/^\s*LOC:\s+(\d+)/m.exec(await run("cat /proc/interrupts"))?.[1] ?? 0)).toBeGreaterThan(
        0,
      );
    } finally {
      await sandbox.kill();
    }
  }, 180_000);

  it("keeps address-space randomization with MSB_GUEST_ASLR=1, and always under KVM", async () => {
    process.env["MSB_GUEST_ASLR"] = "1";
    const sandbox = await Sandbox.create({ name: "kernel-aslr", image: "alpine:latest" }).finally(() => {
      delete process.env["MSB_GUEST_ASLR"];
    });
    try {
      const out = await sandbox.shell("cat /proc/sys/kernel/randomize_va_space; cat /proc/cmdline");
      expect(out.stdout()).toMatch(/^2\n/);
      expect(out.stdout()).not.toMatch(/\bnorandmaps\b/);
    } finally {
      await sandbox.kill();
    }
  }, 180_000);
});
