/**
 * `msb prune`: docker's `system prune` for microsandbox. Removes stopped and crashed sandboxes (disk, logs, row),
 * what failed creates left (their log directories), dangling images (every image no sandbox uses with `--all`),
 * layer blobs and base disks no image needs, and the scratch files of pulls and builds whose process died. Asks
 * first unless `--force`.
 */
import type { Command } from "commander";
import { readEnv } from "../../config/env.js";
import { msbPaths } from "../../config/paths.js";
import { allocatedBytes } from "../../image/disk-usage.js";
import { ImageService } from "../../image/image-service.js";
import { cleanAbandonedScratch } from "../../image/scratch.js";
import { sandboxPaths } from "../../sdk/context.js";
import { removeLeftovers } from "../../sdk/leftovers.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { confirm } from "../confirm.js";
import { forEachName } from "../each.js";
import { size } from "../output.js";

/** Adds the `prune` verb. */
export function registerPrune(program: Command): void {
  program
    .command("prune")
    .description("remove stopped sandboxes, unused images and abandoned scratch files")
    .option("-a, --all", "remove every image no sandbox uses, not only dangling ones")
    .option("-f, --force", "do not ask for confirmation")
    .action(async (opts: { all?: boolean; force?: boolean }) => {
      if (opts.force !== true) {
        const images = opts.all === true ? "all images without a sandbox" : "dangling images";
        const ok = await confirm(
          `This removes all stopped and crashed sandboxes, the logs of failed creates, ${images}, unused layers and scratch files. Continue?`,
        );
        if (!ok) return;
      }
      const home = readEnv().home;
      const stopped = (await Sandbox.list()).filter((s) => s.status === "stopped" || s.status === "crashed");
      let freed = 0;
      const removed: string[] = [];
      await forEachName(
        stopped.map((s) => s.name),
        async (name) => {
          const bytes = await allocatedBytes(sandboxPaths(home, name).dir);
          await Sandbox.remove(name);
          freed += bytes;
          removed.push(name);
        },
      );
      const leftovers = await removeLeftovers(home);
      freed += leftovers.bytesFreed;
      // Before the service opens (which would clean them silently), to report them.
      const scratch = await cleanAbandonedScratch(msbPaths(home));
      freed += scratch.bytesFreed;
      await using images = await ImageService.open();
      const result = await images.prune({ all: opts.all === true });
      freed += result.bytesFreed;
      const out: string[] = [];
      if (removed.length > 0) out.push("Deleted sandboxes:", ...removed, "");
      if (leftovers.names.length > 0) out.push("Deleted logs of failed creates:", ...leftovers.names, "");
      if (result.images.length > 0) out.push("Deleted images:", ...result.images, "");
      if (result.layers.length > 0) out.push(`Deleted layers: ${result.layers.length}`, "");
      if (scratch.removed.length > 0) out.push("Deleted scratch files:", ...scratch.removed, "");
      out.push(`Total reclaimed space: ${size(freed)}`);
      process.stdout.write(`${out.join("\n")}\n`);
    });
}
