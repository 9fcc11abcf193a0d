/** `msb start NAME...`: boot stopped or crashed sandboxes again, in the background, from their own disks. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";

/** Adds the `start` verb. */
export function registerStart(program: Command): void {
  program
    .command("start")
    .description("start stopped sandboxes again (their files and config kept); they run in the background")
    .argument("<names...>", "sandbox names")
    .action(async (names: string[]) => {
      for (const name of names) {
        await Sandbox.startDetached(name);
        process.stdout.write(`${name}\n`);
      }
    });
}
