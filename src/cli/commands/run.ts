/**
 * `msb run [-it] IMAGE [-- CMD...]`: create a sandbox, run CMD (or the image's entrypoint + cmd) in it attached
 * (output as it arrives; with -i stdin, with -t a terminal), stop it, and exit with the command's code. `--rm` removes the sandbox afterwards; `--detach` leaves
 * it running in the background instead (then CMD is not run: the sandbox stays up for `msb exec`).
 */
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { ImageService } from "../../image/image-service.js";
import { isLocalImage } from "../../image/rootfs/local-root.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { validateSandboxConfig } from "../../sdk/config.js";
import type { SandboxConfig } from "../../sdk/config.js";
import type { LogLevel } from "../../sdk/enums.js";
import { collect, parseCount, parseEnv } from "../options.js";
import { attach } from "../attach.js";
import { pullProgress } from "../progress.js";
import { createMissingVolumes, volumesFromFlags } from "../volume-flags.js";
import { networkFromFlags, portsFromFlags, secretsFromFlags } from "../network-flags.js";

/** Options shared by `run` and `create`. */
export interface SandboxOptions {
  name?: string;
  cpus?: string;
  memory?: string;
  env: string[];
  workdir?: string;
  user?: string;
  label: string[];
  pull?: string;
  logLevel?: string;
  quietLogs?: boolean;
  volume: string[];
  tmpfs: string[];
  publish: string[];
  network?: string;
  blockDomain: string[];
  secret: string[];
}

/** Adds the options shared by `run` and `create`. */
export function sandboxOptions(command: Command): Command {
  return command
    .option("--name <name>", "sandbox name (default: generated)")
    .option("--cpus <n>", "virtual CPUs")
    .option("-m, --memory <mib>", "guest memory in MiB")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("-w, --workdir <dir>", "working directory in the guest")
    .option("-u, --user <user>", "user to run as (name, uid or uid:gid)")
    .option("-l, --label <KEY=VALUE>", "label (repeatable)", collect, [])
    .option("--pull <policy>", "always, if-missing (default) or never")
    .option("--log-level <level>", "supervisor log level: trace, debug, info (default), warn, error")
    .option("--quiet-logs", "do not show the sandbox's warnings (they stay in its supervisor log)")
    .option(
      "-v, --volume <SRC:/PATH[:ro]>",
      "mount a named volume (created if missing), or a host directory (SRC starting with /, ./, ../ or ~) (repeatable)",
      collect,
      [],
    )
    .option("--tmpfs <PATH[:size=64m,ro]>", "mount a tmpfs (repeatable)", collect, [])
    .option(
      "-p, --publish <HOST:GUEST[/udp]>",
      "publish a guest port on the host's loopback (repeatable)",
      collect,
      [],
    )
    .option("--network <policy>", "none, public-only (default) or allow-all")
    .option(
      "--block-domain <NAME>",
      "a name the sandbox's DNS refuses; *.NAME: every subdomain too (repeatable)",
      collect,
      [],
    )
    .option(
      "--secret <ENV=VALUE@HOST>",
      "a secret the guest sees as a placeholder, sent only to HOST (comma-separated; *.domain patterns); " +
        "ENV@HOST takes the value from msb's environment, keeping it off the command line (repeatable)",
      collect,
      [],
    );
}

/** The SandboxConfig of the shared options. */
export async function sandboxConfig(image: string, opts: SandboxOptions): Promise<SandboxConfig> {
  // Bad flags fail before any pull.
  const volumes = volumesFromFlags(opts.volume, opts.tmpfs);
  const ports = portsFromFlags(opts.publish);
  const network = networkFromFlags(opts.network, opts.blockDomain);
  const secrets = secretsFromFlags(opts.secret, process.env);
  if (opts.pull !== "never" && !isLocalImage(image)) {
    // Pull first, with a progress bar; the sandbox then finds the image cached.
    await using images = await ImageService.open();
    const policy = opts.pull === "always" ? "always" : "if-missing";
    await images.pull(image, { policy, onProgress: pullProgress() });
  }
  const config: SandboxConfig = {
    name: opts.name ?? `msb-${randomBytes(4).toString("hex")}`,
    image,
    env: parseEnv(opts.env),
    labels: parseEnv(opts.label),
    ...(opts.cpus === undefined ? {} : { cpus: parseCount("cpus", opts.cpus) }),
    ...(opts.memory === undefined ? {} : { memoryMib: parseCount("memory", opts.memory) }),
    ...(opts.workdir === undefined ? {} : { workdir: opts.workdir }),
    ...(opts.user === undefined ? {} : { user: opts.user }),
    // Checked by validateSandboxConfig like any other value.
    ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel as LogLevel }),
    ...(opts.quietLogs === true ? { quietLogs: true } : {}),
    ...(volumes === undefined ? {} : { volumes }),
    ...(ports === undefined ? {} : { ports }),
    ...(network === undefined ? {} : { network }),
    ...(secrets === undefined ? {} : { secrets }),
    pullPolicy: "never",
  };
  validateSandboxConfig(config); // a bad -v fails here, before a volume is created for it
  await createMissingVolumes(config.volumes);
  return config;
}

/** Adds the `run` verb. */
export function registerRun(program: Command): void {
  sandboxOptions(program.command("run"))
    .description("run a command in a new sandbox")
    .argument("<image>", "image reference (python:3.12) or local root (./rootfs, ./disk.qcow2)")
    .argument("[command...]", "command and arguments (after --); default: the image's entrypoint and cmd")
    .option("--rm", "remove the sandbox when the command exits")
    .option("-d, --detach", "leave the sandbox running in the background and print its name")
    .option("-i, --interactive", "forward stdin to the command")
    .option("-t, --tty", "run the command on a terminal (with -i: an interactive session)")
    .action(
      async (
        image: string,
        command: string[],
        opts: SandboxOptions & { rm?: boolean; detach?: boolean; interactive?: boolean; tty?: boolean },
      ) => {
        const config = await sandboxConfig(image, opts);
        if (opts.detach === true) {
          await Sandbox.createDetached(config);
          process.stdout.write(`${config.name}\n`);
          return;
        }
        const sandbox = await Sandbox.create(config);
        try {
          const argv = command.length > 0 ? command : await defaultCommand(image);
          const [cmd = "/bin/sh", ...args] = argv;
          process.exitCode = await attach(
            sandbox,
            { cmd, args },
            { interactive: opts.interactive === true, tty: opts.tty === true },
          );
        } finally {
          await sandbox.stopAndWait();
          if (opts.rm === true) await Sandbox.remove(config.name);
        }
      },
    );
}

async function defaultCommand(image: string): Promise<string[]> {
  if (isLocalImage(image)) return ["/bin/sh"]; // a local root has no image config
  await using images = await ImageService.open();
  const config = images.inspect(image).config;
  const argv = [...(config.entrypoint ?? []), ...(config.cmd ?? [])];
  return argv.length > 0 ? argv : ["/bin/sh"];
}
