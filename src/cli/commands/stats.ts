/**
 * `msb stats [NAME...]`: live resource use of running sandboxes, as `docker stats`: a table redrawn every
 * second on a terminal (appended when the output is not a terminal), `--no-stream` for one sample, `--format
 * json` for an array of samples (one line per refresh when streaming). Without names: every running sandbox.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { allSandboxMetrics } from "../../sdk/metrics.js";
import type { SandboxMetrics } from "../../sdk/metrics.js";
import { Sandbox } from "../../sdk/sandbox.js";
import { formatOptions, wantsJson } from "../options.js";
import type { FormatOptions } from "../options.js";
import { size, table } from "../output.js";

/** One row of `msb stats`. */
type Row = SandboxMetrics & { readonly name: string };

/** How often the table is refreshed. */
const REFRESH_MS = 1000;

async function sample(names: readonly string[]): Promise<Row[]> {
  if (names.length === 0) {
    const all = await allSandboxMetrics();
    return Object.entries(all)
      .map(([name, m]) => ({ name, ...m }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  return Promise.all(names.map(async (name) => ({ name, ...(await (await Sandbox.get(name)).metrics()) })));
}

function mib(bytes: number): string {
  const value = bytes / (1024 * 1024);
  return value >= 1024 ? `${(value / 1024).toFixed(2)}GiB` : `${value.toFixed(1)}MiB`;
}

function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function render(rows: readonly Row[]): string {
  return table(
    ["NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "UPTIME"],
    rows.map((r) => [
      r.name,
      `${r.cpuPercent.toFixed(2)}%`,
      `${mib(r.memoryBytes)} / ${mib(r.memoryLimitBytes)}`,
      `${r.memoryLimitBytes > 0 ? ((r.memoryBytes / r.memoryLimitBytes) * 100).toFixed(2) : "0.00"}%`,
      `${size(r.netRxBytes)} / ${size(r.netTxBytes)}`,
      `${size(r.diskReadBytes)} / ${size(r.diskWriteBytes)}`,
      uptime(r.uptimeMs),
    ]),
  );
}

/** Adds the `stats` verb. */
export function registerStats(program: Command): void {
  const stats = program
    .command("stats")
    .description("live resource use of running sandboxes (all of them without names)")
    .argument("[names...]", "sandboxes to show")
    .option("--no-stream", "print one sample and exit");
  formatOptions(stats, "table").action(async (names: string[], opts: FormatOptions & { stream: boolean }) => {
    const json = wantsJson(opts, "table");
    const tty = process.stdout.isTTY;
    for (;;) {
      const started = Date.now();
      const rows = await sample(names);
      if (json) process.stdout.write(JSON.stringify(rows) + "\n");
      else process.stdout.write((opts.stream && tty ? "\x1b[2J\x1b[H" : "") + render(rows));
      if (!opts.stream) return;
      await sleep(Math.max(REFRESH_MS - (Date.now() - started), 0));
    }
  });
}
