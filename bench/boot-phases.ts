/**
 * Where a sandbox's create went, from its supervisor log's "running" line (`MicroVm.bootPhases`) and the
 * timings the bench takes around `Sandbox.create()` and the first `shell("true")`.
 */
import { readFileSync } from "node:fs";
import { sandboxPaths } from "../src/sdk/context.js";
import { median } from "./result.js";

/** One create to first shell, split. */
export interface CreateRun {
  /** `Sandbox.create()` to the first `shell("true")` result. */
  readonly totalMs: number;
  /** `Sandbox.create()` alone. */
  readonly createMs: number;
  /** The supervisor's split of the VM's start. */
  readonly qemuMs: number;
  readonly agentMs: number;
  readonly setupMs: number;
}

/** Reads the boot phases the supervisor of sandbox `name` logged when it was running. */
export function loggedBootPhases(
  home: string,
  name: string,
): { qemuMs: number; agentMs: number; setupMs: number } {
  const log = sandboxPaths(home, name).supervisorLog;
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (!line.includes('"running"')) continue;
    const entry = JSON.parse(line) as { msg?: string; fields?: { phases?: Record<string, unknown> } };
    const phases = entry.fields?.phases;
    if (entry.msg !== "running" || phases === undefined) continue;
    const ms = (key: string): number => {
      const value = phases[key];
      if (typeof value !== "number") throw new Error(`${log}: phases.${key} is not a number`);
      return value;
    };
    return { qemuMs: ms("qemuMs"), agentMs: ms("agentMs"), setupMs: ms("setupMs") };
  }
  throw new Error(`${log} has no "running" line with the boot phases`);
}

/** The runs' medians, phase by phase: what the create's time went to, for a bench note. */
export function phaseSplit(runs: readonly CreateRun[]): string {
  const m = (pick: (run: CreateRun) => number): string => median(runs.map(pick)).toFixed(0);
  return (
    `medians: QEMU ${m((r) => r.qemuMs)} ms, agent handshake ${m((r) => r.agentMs)}, ` +
    `guest set-up ${m((r) => r.setupMs)}, ` +
    `rest of create (SDK, supervisor, disk, network) ${m((r) => r.createMs - r.qemuMs - r.agentMs - r.setupMs)}, ` +
    `first shell ${m((r) => r.totalMs - r.createMs)}`
  );
}
