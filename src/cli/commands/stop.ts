/** `msb stop NAME...` and `msb rm [-f] NAME...`: each name is attempted; any failure makes the exit code 1. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";
import { forEachName } from "../each.js";

/** Adds the `stop` and `rm` verbs. */
export function registerStopRm(program: Command): void {
  program
    .command("stop")
    .description("stop running sandboxes")
    .argument("<names...>", "sandbox names")
    .action(async (names: string[]) => {
      await forEachName(names, async (name) => {
        await (await Sandbox.get(name)).stop();
        process.stdout.write(`${name}\n`);
      });
    });
  program
    .command("rm")
    .description("remove sandboxes (stopped ones, or any with --force)")
    .argument("<names...>", "sandbox names")
    .option("-f, --force", "kill running sandboxes first")
    .action(async (names: string[], opts: { force?: boolean }) => {
      await forEachName(names, async (name) => {
        const handle = await Sandbox.get(name);
        if (opts.force === true) await handle.kill(); // a no-op when nothing runs
        await (await Sandbox.get(name)).remove();
        process.stdout.write(`${name}\n`);
      });
    });
}
