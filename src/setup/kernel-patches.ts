/**
 * Source patches the microvm kernel is built with: `kernel/patches/*.patch` of this package, applied in name order
 * with `patch -p1` to Debian's kernel source before it is configured. Their text is part of the build cache key,
 * so a new or changed patch builds a new kernel.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { findExecutable, run } from "./exec.js";
import { findPackageRoot } from "./package-root.js";

/** One patch file: its name (the order it is applied in) and its text (what the cache key hashes and is applied). */
export interface KernelPatch {
  readonly name: string;
  readonly text: string;
}

/** The patches directory shipped with this package. */
export function defaultPatchesDir(): string {
  return join(findPackageRoot(), "kernel", "patches");
}

/** The `*.patch` files of `dir` in name order; none when the directory does not exist. */
export async function readKernelPatches(dir: string): Promise<KernelPatch[]> {
  const names = await readdir(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  });
  const patches = names.filter((name) => name.endsWith(".patch")).sort();
  return Promise.all(patches.map(async (name) => ({ name, text: await readFile(join(dir, name), "utf8") })));
}

/**
 * Applies `patches` to the source tree `tree`, in order, with exact context (`--fuzz=0`): a patch that does not
 * fit this source is an error, never applied at a guessed place. The text read for the cache key is what is
 * applied (on patch's stdin), so the key always names the source that was built.
 *
 * @throws SetupError naming the patch that does not apply (another source version), with `patch`'s output.
 */
export async function applyKernelPatches(tree: string, patches: readonly KernelPatch[]): Promise<void> {
  if (patches.length === 0) return;
  const patch = findExecutable("patch");
  if (patch === undefined) throw new SetupError("patch is missing", { hint: "install the patch package" });
  for (const p of patches) {
    await run(patch, ["-p1", "--forward", "--batch", "--fuzz=0", "--silent"], {
      cwd: tree,
      input: Buffer.from(p.text, "utf8"),
      hint:
        `kernel/patches/${p.name} does not apply to this kernel source; ` +
        "`msb setup --kernel debian` installs Debian's kernel instead",
    });
  }
}
