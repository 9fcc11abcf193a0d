/**
 * The sandbox status machine, stored in the `sandboxes` table and shown everywhere (`list()`, `msb ls`,
 * `msb inspect`):
 *
 * ```
 * creating ─▶ running ─▶ draining ─▶ stopping ─▶ stopped ─▶ starting ─▶ running ...
 *    │           │  └──────────────────▶ stopping       ▲        │
 *    └───────────┴──────────────▶ crashed ──────────────┴────────┘  (start again from stopped or crashed)
 * ```
 *
 * `creating` is a new sandbox booting for the first time, `starting` a stopped or crashed one booting again from
 * its own disk. `crashed` always carries a reason (`exitReason`).
 */

/** Lifecycle states stored for a sandbox. */
export type SandboxStatus =
  "creating" | "starting" | "running" | "draining" | "stopping" | "stopped" | "crashed";

/** Every status, in lifecycle order. */
export const SANDBOX_STATUSES: readonly SandboxStatus[] = [
  "creating",
  "starting",
  "running",
  "draining",
  "stopping",
  "stopped",
  "crashed",
];

/** States in which a supervisor process is (or should be) alive. */
export const LIVE_STATUSES: readonly SandboxStatus[] = [
  "creating",
  "starting",
  "running",
  "draining",
  "stopping",
];

/** States of a sandbox whose VM is booting (before it is `running`). */
export const BOOTING_STATUSES: readonly SandboxStatus[] = ["creating", "starting"];

/** States from which a sandbox can be started again. */
export const RESTARTABLE_STATUSES: readonly SandboxStatus[] = ["stopped", "crashed"];

const NEXT: Readonly<Record<SandboxStatus, readonly SandboxStatus[]>> = {
  creating: ["running", "stopping", "stopped", "crashed"],
  starting: ["running", "stopping", "stopped", "crashed"],
  running: ["draining", "stopping", "stopped", "crashed"],
  draining: ["stopping", "stopped", "crashed"],
  stopping: ["stopped", "crashed"],
  stopped: ["starting"],
  crashed: ["starting"],
};

/** True when the machine allows `from` → `to` (a status may always be re-recorded with new details). */
export function canTransition(from: SandboxStatus, to: SandboxStatus): boolean {
  return from === to || NEXT[from].includes(to);
}

/** True for a status in which the sandbox's processes should be running. */
export function isLive(status: SandboxStatus): boolean {
  return LIVE_STATUSES.includes(status);
}
