/** `msb pull IMAGE`: download an image into the local cache, with a progress bar. */
import type { Command } from "commander";
import { ImageService } from "../../image/image-service.js";
import { pullProgress } from "../progress.js";

/** Adds the `pull` verb. */
export function registerPull(program: Command): void {
  program
    .command("pull")
    .description("pull an image from a registry")
    .argument("<image>", "image reference, e.g. python:3.12")
    .option("--platform <os/arch>", "platform to pull (default: this host's)")
    .action(async (image: string, opts: { platform?: string }) => {
      await using images = await ImageService.open();
      const info = await images.pull(image, {
        policy: "always",
        onProgress: pullProgress(),
        ...(opts.platform === undefined ? {} : { platform: opts.platform }),
      });
      process.stdout.write(`${info.references[0] ?? image}@${info.digest}\n`);
    });
}
