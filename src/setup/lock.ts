/** A lock file that keeps two install() runs from building into the same kernel directory at once. */
import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";

/** Name of the lock file inside the kernel directory. */
export const LOCK_FILE = ".install.lock";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, "wx", 0o644);
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * Takes the install lock of `dir` and returns the function that releases it. A lock left by a process that no
 * longer exists is taken over.
 *
 * @throws SetupError when a live process holds the lock.
 */
export async function acquireInstallLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const release = (): Promise<void> => rm(path, { force: true });
  if (await tryCreate(path)) return release;
  const text = await readFile(path, "utf8").catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return ""; // released meanwhile
    throw err;
  });
  const holder = Number.parseInt(text, 10);
  if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
    throw new SetupError(`another set-up (pid ${holder}) is installing into ${dir}`, {
      hint: `wait for it to finish, or remove ${path} if that process is not microsandbox`,
    });
  }
  await rm(path, { force: true });
  if (await tryCreate(path)) return release;
  throw new SetupError(`could not take the install lock ${path}`, {
    hint: "another set-up started at the same time",
  });
}
