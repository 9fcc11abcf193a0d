/** `msb ls`: list sandboxes. */
import type { Command } from "commander";
import { Sandbox } from "../../sdk/sandbox.js";
import { parseListFilters } from "../filter.js";
import { collect, formatOptions, wantsJson } from "../options.js";
import type { FormatOptions } from "../options.js";
import { age, table } from "../output.js";

/** Adds the `ls` verb. */
export function registerLs(program: Command): void {
  formatOptions(program.command("ls").alias("ps").description("list sandboxes"), "table")
    .option("-q, --quiet", "only names")
    .option("-f, --filter <filter>", "label=KEY=VALUE or label=KEY (repeatable; all must match)", collect, [])
    .action(async (opts: FormatOptions & { quiet?: boolean; filter: string[] }) => {
      const json = wantsJson(opts, "table");
      const list = await Sandbox.list(parseListFilters(opts.filter));
      if (json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      else if (opts.quiet === true) process.stdout.write(list.map((i) => `${i.name}\n`).join(""));
      else {
        const rows = list.map((i) => [i.name, i.image, i.status, age(i.createdAt)]);
        process.stdout.write(table(["NAME", "IMAGE", "STATUS", "CREATED"], rows));
      }
    });
}
