/** Directory listing where a missing directory is an empty one (a state directory not made yet). */
import { readdir } from "node:fs/promises";

/** The names in `dir`, or none when `dir` does not exist. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
