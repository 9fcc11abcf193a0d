/**
 * The `msb` command line. Each verb lives in its own module under `commands/`; this file only wires them up and
 * turns errors into the exit codes and stderr lines users expect.
 */
import { Command, CommanderError } from "commander";
import { MsbError } from "../errors.js";
import { registerCp } from "./commands/cp.js";
import { registerCreate } from "./commands/create.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerExec } from "./commands/exec.js";
import { registerImages } from "./commands/images.js";
import { registerLogs } from "./commands/logs.js";
import { registerInspect } from "./commands/inspect.js";
import { registerLs } from "./commands/ls.js";
import { registerPrune } from "./commands/prune.js";
import { registerPull } from "./commands/pull.js";
import { registerRun } from "./commands/run.js";
import { registerSetup } from "./commands/setup.js";
import { registerStart } from "./commands/start.js";
import { registerStats } from "./commands/stats.js";
import { registerStopRm } from "./commands/stop.js";
import { registerSupervise } from "./commands/supervise.js";
import { registerVmRun } from "./commands/vm-run.js";
import { registerTemplates } from "./commands/templates.js";
import { registerVolume } from "./commands/volume.js";

const program = new Command("msb")
  .description("microsandbox: lightweight microVM sandboxes")
  .version("0.1.0")
  .exitOverride()
  .showHelpAfterError();

registerRun(program);
registerCreate(program);
registerExec(program);
registerCp(program);
registerLs(program);
registerLogs(program);
registerInspect(program);
registerStopRm(program);
registerStart(program);
registerStats(program);
registerPull(program);
registerImages(program);
registerPrune(program);
registerVolume(program);
registerTemplates(program);
registerSetup(program);
registerDoctor(program);
registerVmRun(program);
registerSupervise(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof MsbError) {
    // docker's convention: 125 when the tool itself failed, 127 when the command does not exist.
    process.stderr.write(`msb: ${err.message}\n`);
    process.exitCode = err.code === "MSB_ERR_COMMAND_NOT_FOUND" ? 127 : 125;
  } else {
    throw err;
  }
}
