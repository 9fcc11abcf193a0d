/** `msb volume create|ls|inspect|rm`: named volumes, as `docker volume`. */
import type { Command } from "commander";
import { InvalidConfigError } from "../../errors.js";
import { Volume } from "../../sdk/volume.js";
import type { VolumeHandle } from "../../sdk/volume.js";
import { forEachName } from "../each.js";
import { collect, formatOptions, parseCount, parseEnv, wantsJson } from "../options.js";
import type { FormatOptions } from "../options.js";
import { age, size, table } from "../output.js";

/** A handle as `inspect` and `ls --json` print it. */
function describe(handle: VolumeHandle): Record<string, unknown> {
  return {
    name: handle.name,
    kind: handle.kind,
    quotaMib: handle.quotaMib ?? null,
    usedBytes: handle.usedBytes,
    labels: handle.labels,
    createdAt: new Date(handle.createdAt).toISOString(),
    path: handle.path,
  };
}

/** Adds the `volume` verb (alias `vol`) and its subcommands. */
export function registerVolume(program: Command): void {
  const volume = program.command("volume").alias("vol").description("manage named volumes");
  volume
    .command("create")
    .description("create a named volume")
    .argument("<name>", "volume name")
    .option(
      "--quota <mib>",
      "hard size limit in MiB (a disk's size: default 1024; a directory with one needs root)",
    )
    .option(
      "--kind <kind>",
      "directory (default: a host directory, shared) or disk (an ext4 image, one writer)",
    )
    .option("-l, --label <KEY=VALUE>", "label (repeatable)", collect, [])
    .action(async (name: string, opts: { quota?: string; kind?: string; label: string[] }) => {
      if (opts.kind !== undefined && opts.kind !== "directory" && opts.kind !== "disk") {
        throw new InvalidConfigError("--kind", `${JSON.stringify(opts.kind)} is not directory or disk`);
      }
      const created = await Volume.create({
        name,
        labels: parseEnv(opts.label),
        ...(opts.quota === undefined ? {} : { quotaMib: parseCount("--quota", opts.quota) }),
        ...(opts.kind === undefined ? {} : { kind: opts.kind }),
      });
      process.stdout.write(`${created.name}\n`);
    });
  formatOptions(volume.command("ls").alias("list").description("list named volumes"), "table")
    .option("-q, --quiet", "only names")
    .action(async (opts: FormatOptions & { quiet?: boolean }) => {
      const json = wantsJson(opts, "table");
      const list = await Volume.list();
      if (json) process.stdout.write(JSON.stringify(list.map(describe), null, 2) + "\n");
      else if (opts.quiet === true) process.stdout.write(list.map((v) => `${v.name}\n`).join(""));
      else {
        const rows = list.map((v) => [
          v.name,
          v.kind,
          v.quotaMib === undefined ? "-" : `${v.quotaMib} MiB`,
          size(v.usedBytes),
          age(v.createdAt),
        ]);
        process.stdout.write(table(["NAME", "KIND", "QUOTA", "USED", "CREATED"], rows));
      }
    });
  volume
    .command("inspect")
    .description("show volumes as JSON")
    .argument("<names...>", "volume names")
    .action(async (names: string[]) => {
      const found: Record<string, unknown>[] = [];
      await forEachName(names, async (name) => {
        found.push(describe(await Volume.get(name)));
      });
      process.stdout.write(JSON.stringify(found, null, 2) + "\n");
    });
  volume
    .command("rm")
    .alias("remove")
    .description("remove volumes (refused while a sandbox references one)")
    .argument("<names...>", "volume names")
    .action(async (names: string[]) => {
      await forEachName(names, async (name) => {
        await Volume.remove(name);
        process.stdout.write(`${name}\n`);
      });
    });
}
