/** `msb images`: list cached images; `msb rmi IMAGE...`: remove them (each attempted). */
import type { Command } from "commander";
import { ImageService } from "../../image/image-service.js";
import { forEachName } from "../each.js";
import { age, size, table } from "../output.js";

/** Adds the `images` and `rmi` verbs. */
export function registerImages(program: Command): void {
  program
    .command("images")
    .description("list cached images")
    .action(async () => {
      await using images = await ImageService.open();
      const rows = images.list().flatMap((info) => {
        const names = info.references.length > 0 ? info.references : ["<none>"];
        return names.map((ref) => [
          ref,
          info.digest.slice(7, 19),
          age(info.pulledAt.getTime()),
          size(info.size),
        ]);
      });
      process.stdout.write(table(["REFERENCE", "DIGEST", "PULLED", "SIZE"], rows));
    });
  program
    .command("rmi")
    .description("remove cached images (not while a sandbox uses them)")
    .argument("<images...>", "references or digests")
    .action(async (names: string[]) => {
      await using images = await ImageService.open();
      await forEachName(names, async (image) => {
        const result = await images.remove(image);
        for (const ref of result.untagged) process.stdout.write(`untagged: ${ref}\n`);
        for (const digest of result.deleted) process.stdout.write(`deleted: ${digest}\n`);
      });
    });
}
