/** Waiting for a process we did not spawn (a supervisor) to exit: polling with the signal-0 probe. */
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive } from "../store/sandbox-repository.js";

/** Resolves when `pid` no longer exists, or false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  return true;
}
