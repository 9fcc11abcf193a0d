/**
 * What failed creates leave: a create that fails keeps its sandbox's log directory (its error names it) but no row.
 * `msb prune` removes such directories; a directory whose name has a row (a sandbox, or a create in progress,
 * which inserts its row before it makes any directory) is never touched.
 *
 * @packageDocumentation
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";
import { allocatedBytes } from "../image/disk-usage.js";
import { Store } from "../store/store.js";

/** What {@link removeLeftovers} removed. */
export interface RemovedLeftovers {
  /** The sandbox names whose directories were removed. */
  readonly names: readonly string[];
  readonly bytesFreed: number;
}

/** Removes the directories under `<home>/sandboxes` that no sandbox row names, each checked just before. */
export async function removeLeftovers(home: string): Promise<RemovedLeftovers> {
  const dir = msbPaths(home).sandboxesDir;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { names: [], bytesFreed: 0 };
    throw err;
  }
  const names: string[] = [];
  let bytesFreed = 0;
  const store = Store.open({ path: msbPaths(home).database });
  try {
    for (const name of entries) {
      if (store.sandboxes.get(name) !== undefined) continue;
      const path = join(dir, name);
      const bytes = await allocatedBytes(path);
      rmSync(path, { recursive: true, force: true });
      names.push(name);
      bytesFreed += bytes;
    }
  } finally {
    store.close();
  }
  return { names, bytesFreed };
}
