/**
 * `msb templates ls`: the VM templates sandboxes are restored from; `msb templates rm KEY...|--all`: remove them
 * (a sandbox restored from one keeps running: it holds links to the files it uses).
 */
import type { Command } from "commander";
import { readEnv } from "../../config/env.js";
import { InvalidConfigError } from "../../errors.js";
import { ImageService } from "../../image/image-service.js";
import { TemplateStore } from "../../templates/template-store.js";
import { forEachName } from "../each.js";
import { age, size, table } from "../output.js";

const HINT = "`msb templates ls` lists the keys";

/** Adds the `templates` verb. */
export function registerTemplates(program: Command): void {
  const templates = program
    .command("templates")
    .description("VM templates: saved VMs new sandboxes are restored from (MSB_TEMPLATES=0 turns them off)");
  templates
    .command("ls")
    .description("list templates")
    .action(async () => {
      await using images = await ImageService.open();
      const names = new Map(images.list().map((info) => [info.digest, info.references[0] ?? "<none>"]));
      const rows = new TemplateStore(readEnv().home)
        .list()
        .map(({ meta, diskBytes }) => [
          meta.key,
          names.get(meta.imageDigest) ?? meta.imageDigest.slice(7, 19),
          `${meta.cpus} cpu, ${meta.memoryMib} MiB`,
          age(Date.parse(meta.createdAt)),
          size(diskBytes),
        ]);
      process.stdout.write(table(["KEY", "IMAGE", "SHAPE", "CREATED", "SIZE"], rows));
    });
  templates
    .command("rm")
    .description("remove templates (the next create of their image and shape makes one again)")
    .argument("[keys...]", "template keys (see `msb templates ls`)")
    .option("--all", "remove every template")
    .action(async (keys: string[], options: { all?: boolean }) => {
      const store = new TemplateStore(readEnv().home);
      const targets = options.all === true ? store.list().map((t) => t.meta.key) : keys;
      if (targets.length === 0) {
        throw new InvalidConfigError("keys", "name templates to remove, or --all", { hint: HINT });
      }
      await forEachName(targets, (key) => {
        if (!/^[0-9a-f]{1,64}$/.test(key) || !store.remove(key)) {
          throw new InvalidConfigError("template key", `no template ${key}`, { hint: HINT });
        }
        process.stdout.write(`removed: ${key}\n`);
        return Promise.resolve();
      });
    });
}
