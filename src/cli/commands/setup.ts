/** `msb setup`: install the runtime (QEMU, guest kernel, initramfs, agent). */
import type { Command } from "commander";
import { readEnv } from "../../config/env.js";
import { install } from "../../setup/index.js";
import { hostKvmStatus } from "../../vm/accel.js";
import { DEFAULT_KERNEL_FLAVOR, parseKernelFlavor } from "../../setup/kernel-choice.js";

/** Adds the `setup` verb. */
export function registerSetup(program: Command): void {
  program
    .command("setup")
    .description("install QEMU and build the guest kernel, initramfs and agent (idempotent; run as root)")
    .option("--force", "rebuild everything even when up to date")
    .option("--no-system-packages", "do not apt-get install missing packages")
    .option(
      "--kernel <kind>",
      "guest kernel: microvm (built from Debian's kernel source, all drivers built in) or debian (the cloud kernel)",
      parseKernelFlavor,
      DEFAULT_KERNEL_FLAVOR,
    )
    .action(async (opts: { force?: boolean; systemPackages: boolean; kernel: "microvm" | "debian" }) => {
      const artifacts = await install({
        force: opts.force ?? false,
        kernel: opts.kernel,
        systemPackages: opts.systemPackages,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(
        `runtime ready: ${artifacts.kernelFlavor} kernel ${artifacts.kernelVersion} (${artifacts.kernelFormat})\n`,
      );
      // Whether KVM boots the new kernel, answered (and cached) now rather than at the first sandbox.
      const env = readEnv();
      if (process.platform === "linux" && env.accel === undefined) {
        const kvm = hostKvmStatus({ home: env.home, ...artifacts });
        process.stdout.write(`accelerator: ${kvm.usable ? "kvm" : "tcg"} (${kvm.reason})\n`);
      }
    });
}
