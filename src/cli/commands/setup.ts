/** `msb setup`: install the runtime (QEMU, guest kernel, initramfs, agent). */
import type { Command } from "commander";
import { install } from "../../setup/index.js";

/** Adds the `setup` verb. */
export function registerSetup(program: Command): void {
  program
    .command("setup")
    .description("install QEMU and build the guest kernel, initramfs and agent (idempotent; run as root)")
    .option("--force", "rebuild everything even when up to date")
    .option("--no-system-packages", "do not apt-get install missing packages")
    .action(async (opts: { force?: boolean; systemPackages: boolean }) => {
      const artifacts = await install({
        force: opts.force ?? false,
        systemPackages: opts.systemPackages,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`runtime ready: kernel ${artifacts.kernelVersion} (${artifacts.kernelFormat})\n`);
    });
}
