/** `msb create IMAGE`: create a sandbox that keeps running in the background. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";
import { sandboxConfig, sandboxOptions } from "./run.js";
import type { SandboxOptions } from "./run.js";

/** Adds the `create` verb. */
export function registerCreate(program: Command): void {
  sandboxOptions(program.command("create"))
    .description("create a sandbox that runs in the background (use `msb exec`, `msb stop`)")
    .argument("<image>", "image reference (python:3.12) or local root (./rootfs, ./disk.qcow2)")
    .action(async (image: string, opts: SandboxOptions) => {
      const config = await sandboxConfig(image, opts);
      await Sandbox.createDetached(config);
      process.stdout.write(`${config.name}\n`);
    });
}
