/**
 * Chooses the guest kernel install() stages: the `microvm` kernel built from source, or Debian's cloud kernel.
 * When the `microvm` kernel cannot be had (the build failed, tools are missing without root, another
 * architecture), set-up installs Debian's kernel instead and says why and how to retry.
 */
import { SetupError } from "../errors.js";
import type { InstallContext } from "./context.js";
import { stageDebianKernel, type KernelStepResult } from "./kernel-step.js";
import type { Manifest } from "./manifest.js";
import { stageMicrovmKernel } from "./microvm-kernel-step.js";
import type { KernelFlavor } from "./types.js";

/**
 * The kernel install() chooses when not told: `microvm`, which passed the whole integration suite (templates on)
 * and boots in about 0.4x the time of Debian's. `msb setup --kernel debian` installs the fallback instead.
 */
export const DEFAULT_KERNEL_FLAVOR: KernelFlavor = "microvm";

/** The value of `msb setup --kernel`, checked. */
export function parseKernelFlavor(value: string): KernelFlavor {
  if (value === "microvm" || value === "debian") return value;
  throw new SetupError(`unknown kernel ${JSON.stringify(value)}`, {
    hint: "use --kernel microvm or --kernel debian",
  });
}

/**
 * Stages the kernel of `ctx.kernelFlavor`, falling back from `microvm` to `debian` when the former fails with a
 * {@link SetupError} (other errors are bugs and propagate).
 */
export async function stageKernel(
  ctx: InstallContext,
  previous: Manifest | undefined,
): Promise<KernelStepResult> {
  if (ctx.kernelFlavor === "debian") return stageDebianKernel(ctx, previous);
  try {
    return await stageMicrovmKernel(ctx, previous);
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    ctx.log(`kernel: could not build the microvm kernel: ${err.message}`);
    ctx.log(
      "kernel: falling back to Debian's cloud kernel (boots slower). Retry with `msb setup --kernel microvm --force`; keep Debian's with `msb setup --kernel debian`",
    );
    return stageDebianKernel(ctx, previous);
  }
}
