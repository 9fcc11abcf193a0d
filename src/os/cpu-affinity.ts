/**
 * Host CPU affinity for the processes of one VM. Linux only; read from /proc, applied with util-linux's
 * `taskset` in the exec chain (node has no `sched_setaffinity`), so every thread a process starts inherits it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Parses a kernel CPU list (`0-3,6,8-9`) into sorted CPU numbers; `undefined` when it is not one. */
export function parseCpuList(text: string): number[] | undefined {
  const cpus = new Set<number>();
  for (const part of text.trim().split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) return undefined;
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first || last - first > 4096) return undefined;
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The CPUs a process may run on, from the text of its /proc/<pid>/status (`Cpus_allowed_list`). */
export function allowedCpus(status: string): number[] | undefined {
  const list = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status)?.[1];
  return list === undefined ? undefined : parseCpuList(list);
}

/**
 * How many processes named one of `names` (their `comm`) are pinned to each single CPU, read from `procDir`.
 * Processes that vanish while being read are skipped.
 */
export function pinnedCounts(names: readonly string[], procDir = "/proc"): Map<number, number> {
  const counts = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch (err) {
    if (err instanceof Error && "code" in err) return counts;
    throw err;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(join(procDir, entry, "status"), "utf8");
    } catch (err) {
      if (err instanceof Error && "code" in err) continue; // exited meanwhile
      throw err;
    }
    const name = /^Name:\s*(.*)$/m.exec(status)?.[1];
    if (name === undefined || !names.includes(name)) continue;
    const cpus = allowedCpus(status);
    if (cpus?.length !== 1) continue;
    const [cpu = 0] = cpus;
    counts.set(cpu, (counts.get(cpu) ?? 0) + 1);
  }
  return counts;
}

/**
 * The CPU of `allowed` with the fewest pinned processes; ties go to the one `spread` (e.g. a pid) picks, so
 * processes choosing at the same moment do not all take the first.
 */
export function leastPinnedCpu(
  allowed: readonly number[],
  counts: Map<number, number>,
  spread: number,
): number {
  if (allowed.length === 0) throw new RangeError("no CPU to choose from");
  const fewest = Math.min(...allowed.map((cpu) => counts.get(cpu) ?? 0));
  const candidates = allowed.filter((cpu) => (counts.get(cpu) ?? 0) === fewest);
  const chosen = candidates[Math.abs(spread) % candidates.length];
  if (chosen === undefined) throw new RangeError("no CPU to choose from");
  return chosen;
}
