/**
 * The `msb` command line. Each verb lives in its own module under `commands/`; this file only wires them up and
 * turns errors into the exit codes and stderr lines users expect.
 */
import { Command, CommanderError } from "commander";
import { MsbError } from "../errors.js";
import { registerSetup } from "./commands/setup.js";
import { registerSupervise } from "./commands/supervise.js";
import { registerVmRun } from "./commands/vm-run.js";

const program = new Command("msb")
  .description("microsandbox: lightweight microVM sandboxes")
  .version("0.1.0")
  .exitOverride()
  .showHelpAfterError();

registerSetup(program);
registerVmRun(program);
registerSupervise(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof MsbError) {
    process.stderr.write(`msb: ${err.message}\n`);
    process.exitCode = 125;
  } else {
    throw err;
  }
}
