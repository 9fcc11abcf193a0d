/** Verbs that take several names (`rm`, `rmi`, `stop`) do each one, as docker's do: a failure is reported and the rest still happen. */

/**
 * Runs `fn` for every name in order. A failure is written to stderr as `msb: <message>` and the next name is
 * tried; the exit code is 1 when any failed (docker's convention for these verbs).
 */
export async function forEachName(
  names: readonly string[],
  fn: (name: string) => Promise<void>,
): Promise<void> {
  let failed = false;
  for (const name of names) {
    try {
      await fn(name);
    } catch (err) {
      failed = true;
      process.stderr.write(`msb: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}
