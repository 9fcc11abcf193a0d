/** `msb inspect NAME...`: a JSON array with each sandbox's config (no secrets), status, processes, paths and image. */
import type { Command } from "commander";
import { readEnv } from "../../config/env.js";
import { sandboxDetails, type SandboxDetails } from "../../sdk/inspect.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { forEachName } from "../each.js";

/** Adds the `inspect` verb. */
export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show sandboxes in detail (JSON)")
    .argument("<names...>", "sandbox names")
    .action(async (names: string[]) => {
      const home = readEnv().home;
      const found: SandboxDetails[] = [];
      await forEachName(names, async (name) => {
        found.push(sandboxDetails(home, (await Sandbox.get(name)).record));
      });
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    });
}
