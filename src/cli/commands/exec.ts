/** `msb exec NAME -- CMD...`: run a command in a running sandbox. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";
import { collect, parseEnv } from "../options.js";
import { emitExecOutput } from "../output.js";

/** Adds the `exec` verb. */
export function registerExec(program: Command): void {
  program
    .command("exec")
    .description("run a command in a running sandbox")
    .argument("<name>", "sandbox name")
    .argument("<command...>", "command and arguments (after --)")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user (name, uid or uid:gid)")
    .option("-t, --timeout <ms>", "kill the command after this many milliseconds")
    .action(
      async (
        name: string,
        command: string[],
        opts: { env: string[]; workdir?: string; user?: string; timeout?: string },
      ) => {
        const sandbox = await (await Sandbox.get(name)).connect();
        const [cmd = "", ...args] = command;
        emitExecOutput(
          await sandbox.execWithConfig({
            cmd,
            args,
            env: parseEnv(opts.env),
            ...(opts.workdir === undefined ? {} : { cwd: opts.workdir }),
            ...(opts.user === undefined ? {} : { user: opts.user }),
            ...(opts.timeout === undefined ? {} : { timeoutMs: Number(opts.timeout) }),
          }),
        );
      },
    );
}
