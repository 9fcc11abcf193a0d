/** What a plain directory volume uses: a walk summing allocated blocks (`st_blocks`), each inode counted once. */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { statfs } from "node:fs/promises";

/** Bytes allocated under `dir` (hard links counted once; symlinks not followed; other mounts not entered). */
export async function directoryUsedBytes(dir: string): Promise<number> {
  const root = await lstat(dir, { bigint: true });
  const seen = new Set<string>();
  let total = 0;
  const pending: string[] = [dir];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    for (const entry of await readdir(path)) {
      const child = join(path, entry);
      const st = await lstat(child, { bigint: true });
      if (st.dev !== root.dev) continue;
      const key = String(st.ino);
      if (seen.has(key)) continue;
      seen.add(key);
      total += Number(st.blocks) * 512;
      if (st.isDirectory()) pending.push(child);
    }
  }
  return total;
}

/** Bytes used on the filesystem mounted at `dir` (`statvfs`: blocks minus free blocks, metadata overhead excluded). */
export async function mountedUsedBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return (fs.blocks - fs.bfree) * fs.bsize;
}
