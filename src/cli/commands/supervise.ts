/**
 * `msb __supervise` (hidden): runs a sandbox supervisor on this process's stdio, like `dist/supervisor.cjs` (see
 * `supervisor/stdio.ts`).
 */
import type { Command } from "commander";
import { superviseFromStdio } from "../../supervisor/stdio.js";

/** Adds the hidden `__supervise` verb. */
export function registerSupervise(program: Command): void {
  program
    .command("__supervise", { hidden: true })
    .description("run a sandbox supervisor (internal)")
    .action(async () => {
      process.exit(await superviseFromStdio());
    });
}
