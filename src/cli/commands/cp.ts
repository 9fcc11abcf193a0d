/**
 * `msb cp SRC DST`: copy files and directories between the host and a sandbox, as `docker cp` does. One side is
 * `NAME:/path` in a running sandbox, the other a host path; a directory is copied whole (modes, symlinks,
 * mtimes), into the destination when that is an existing directory. Large copies draw a progress line.
 */
import type { Command } from "commander";
import { InvalidConfigError } from "../../errors.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { size } from "../output.js";

/** `NAME:/path`, or undefined for a host path. */
function sandboxPath(arg: string): { name: string; path: string } | undefined {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(\/.*)$/.exec(arg);
  return match ? { name: match[1] ?? "", path: match[2] ?? "/" } : undefined;
}

/** A progress line on stderr (TTY only), redrawn at most ten times a second. */
function progressLine(stream: NodeJS.WriteStream = process.stderr): {
  update(bytes: number): void;
  end(): void;
} {
  let last = 0;
  let shown = false;
  return {
    update(bytes) {
      const now = Date.now();
      if (!stream.isTTY || now - last < 100 || bytes < 1024 * 1024) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[2Kcopying: ${size(bytes)}`);
    },
    end() {
      if (shown) stream.write("\r\x1b[2K");
    },
  };
}

/** Adds the `cp` verb. */
export function registerCp(program: Command): void {
  program
    .command("cp")
    .description("copy files or directories between the host and a sandbox (NAME:/path)")
    .argument("<src>", "host path or NAME:/path")
    .argument("<dst>", "host path or NAME:/path")
    .action(async (src: string, dst: string) => {
      const from = sandboxPath(src);
      const to = sandboxPath(dst);
      if ((from === undefined) === (to === undefined)) {
        throw new InvalidConfigError("cp", "exactly one of SRC and DST must be NAME:/path in a sandbox", {
          hint: "e.g. msb cp ./src web:/app or msb cp web:/app/out.log .",
        });
      }
      const remote = from ?? to;
      if (remote === undefined) return;
      const sandbox = await (await Sandbox.get(remote.name)).connect();
      const progress = progressLine();
      const options = {
        onProgress: (bytes: number) => {
          progress.update(bytes);
        },
      };
      try {
        if (from !== undefined) await sandbox.fs().copyToHost(from.path, dst, options);
        else await sandbox.fs().copyFromHost(src, remote.path, options);
      } finally {
        progress.end();
      }
    });
}
