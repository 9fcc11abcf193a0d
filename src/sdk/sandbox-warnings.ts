/**
 * The sandbox's boot warnings (from its supervisor's log: "running under TCG"...) shown in the creator's process
 * as Node process warnings, each text once per process (so a test suite under TCG warns once, not per sandbox).
 * `quietLogs: true` skips this; the warnings stay in the supervisor log.
 */

/** Where the texts already shown are kept: on `process` itself, like Node's once-only warnings. */
const SHOWN = Symbol.for("microsandbox.sandboxWarningsShown");

/** Emits each of `warnings` (of sandbox `name`) as a process warning, once per text per process. */
export function relaySandboxWarnings(name: string, warnings: readonly string[]): void {
  const holder = process as unknown as Record<symbol, Set<string> | undefined>;
  const shown = (holder[SHOWN] ??= new Set<string>());
  for (const warning of warnings) {
    if (shown.has(warning)) continue;
    shown.add(warning);
    process.emitWarning(`sandbox ${name}: ${warning}`, { code: "MSB_SANDBOX" });
  }
}
