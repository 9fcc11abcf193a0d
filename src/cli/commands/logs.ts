/**
 * `msb logs [-f] [--source main|console|supervisor] [--tail N] NAME`: print a sandbox's log (the main process's
 * output by default); `-f` keeps printing what is appended, across rotations, until interrupted or the sandbox
 * stops.
 */
import type { Command } from "commander";
import { InvalidConfigError } from "../../errors.js";
import { followLog } from "../../logs/follow.js";
import { readLog } from "../../logs/read.js";
import { logPath } from "../../logs/sources.js";
import { sandboxPaths } from "../../sdk/context.js";
import { validateLogsOptions } from "../../sdk/logs.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { isLive } from "../../store/sandbox-status.js";
import { readEnv } from "../../config/env.js";

interface LogsCliOptions {
  follow?: boolean;
  source: string;
  tail?: string;
}

function parseTail(value: string | undefined): number | undefined {
  if (value === undefined || value === "all") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidConfigError("tail", `expected a number of lines or "all", got ${value}`);
  }
  return n;
}

/** A check whether the sandbox still runs, reading its row at most once a second (the follower polls faster). */
function livenessCheck(name: string): () => Promise<boolean> {
  let checkedAt = 0;
  let live = true;
  return async () => {
    if (Date.now() - checkedAt >= 1_000) {
      checkedAt = Date.now();
      live = isLive((await Sandbox.get(name)).status);
    }
    return live;
  };
}

/** Adds the `logs` verb. */
export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("print a sandbox's logs (running or stopped)")
    .argument("<name>", "sandbox name")
    .option("-f, --follow", "keep printing new output until the sandbox stops (or Ctrl-C)")
    .option(
      "-s, --source <source>",
      "main (the main process's output), console (guest) or supervisor",
      "main",
    )
    .option("-n, --tail <lines>", 'only the last lines ("all" for everything)')
    .action(async (name: string, opts: LogsCliOptions) => {
      const tail = parseTail(opts.tail);
      const { source } = validateLogsOptions({ source: opts.source });
      const handle = await Sandbox.get(name);
      const path = logPath(sandboxPaths(readEnv().home, handle.name).logDir, source);
      if (opts.follow !== true || !isLive(handle.status)) {
        process.stdout.write(readLog(path, { tail }));
        return;
      }
      const abort = new AbortController();
      const interrupt = (): void => {
        abort.abort();
      };
      process.once("SIGINT", interrupt);
      process.once("SIGTERM", interrupt);
      const stillLive = livenessCheck(name);
      try {
        await followLog(path, {
          tail: tail ?? Number.MAX_SAFE_INTEGER,
          onData: (chunk) => process.stdout.write(chunk),
          isDone: async () => !(await stillLive()),
          signal: abort.signal,
        });
      } finally {
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
      }
    });
}
