/** `msb exec [-it] NAME -- CMD...` and `msb shell NAME`: run a command in a running sandbox, attached. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";
import { attach } from "../attach.js";
import { collect, parseEnv } from "../options.js";

interface ExecOptions {
  env: string[];
  workdir?: string;
  user?: string;
  timeout?: string;
  interactive?: boolean;
  tty?: boolean;
}

/** Adds the `exec` and `shell` verbs. */
export function registerExec(program: Command): void {
  program
    .command("exec")
    .description("run a command in a running sandbox")
    .argument("<name>", "sandbox name")
    .argument("<command...>", "command and arguments (after --)")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <user>", "user (name, uid or uid:gid)")
    .option("--timeout <ms>", "kill the command after this many milliseconds")
    .option("-i, --interactive", "forward stdin to the command")
    .option("-t, --tty", "run the command on a terminal (with -i: like docker exec -it)")
    .action(async (name: string, command: string[], opts: ExecOptions) => {
      const sandbox = await (await Sandbox.get(name)).connect();
      const [cmd = "", ...args] = command;
      process.exitCode = await attach(
        sandbox,
        {
          cmd,
          args,
          env: parseEnv(opts.env),
          ...(opts.workdir === undefined ? {} : { cwd: opts.workdir }),
          ...(opts.user === undefined ? {} : { user: opts.user }),
          ...(opts.timeout === undefined ? {} : { timeoutMs: Number(opts.timeout) }),
        },
        { interactive: opts.interactive === true, tty: opts.tty === true },
      );
    });

  program
    .command("shell")
    .description("open an interactive shell in a running sandbox")
    .argument("<name>", "sandbox name")
    .option("--shell <path>", "shell to run", "/bin/sh")
    .option("-u, --user <user>", "user (name, uid or uid:gid)")
    .action(async (name: string, opts: { shell: string; user?: string }) => {
      const sandbox = await (await Sandbox.get(name)).connect();
      process.exitCode = await attach(
        sandbox,
        { cmd: opts.shell, ...(opts.user === undefined ? {} : { user: opts.user }) },
        { interactive: true, tty: true },
      );
    });
}
