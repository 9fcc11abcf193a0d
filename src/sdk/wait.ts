/** Waiting for a process we did not spawn (a supervisor) to exit: polling `/proc` for its proven identity. */
import { setTimeout as sleep } from "node:timers/promises";
import { isRunning } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";

/** Resolves true when the process no longer runs (exited, a zombie, or its pid reused), false after `timeoutMs`. */
export async function waitForExit(identity: ProcessIdentity, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (isRunning(identity)) {
    if (Date.now() > deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  return true;
}
