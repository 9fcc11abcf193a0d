/**
 * Strict, bounded parsers of the `/proc` text the metrics come from: the guest's `/proc/stat`, `/proc/meminfo`,
 * `/proc/diskstats` and `/proc/net/dev` (sent by a hostile guest), QEMU's own `/proc/<pid>/stat` and `status` on
 * the host, and QMP's `query-blockstats` reply. Each parser reads at most {@link MAX_LINES} lines and returns
 * `undefined` when a line it needs is missing or malformed (a value that is not a non-negative safe integer,
 * a short line): a half-parsed figure is never reported.
 */

/** Lines read from one `/proc` file at most (a guest with thousands of devices gets no more attention). */
export const MAX_LINES = 4096;

/** Clock ticks per second of `/proc/<pid>/stat` and `/proc/stat` (`USER_HZ`, 100 on every Linux ABI). */
export const USER_HZ = 100;

function lines(text: string): string[] {
  return text.split("\n", MAX_LINES);
}

/** A non-negative safe integer written in decimal, else undefined. */
function count(field: string | undefined): number | undefined {
  if (field === undefined || !/^\d{1,16}$/.test(field)) return undefined;
  const n = Number(field);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Sums `values` unless one is undefined. */
function sum(values: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  for (const v of values) {
    if (v === undefined) return undefined;
    total += v;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** CPU time a process used (user + system, all threads), from `/proc/<pid>/stat`, in clock ticks. */
export function processCpuTicks(text: string): number | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0 || text.length > 4096) return undefined;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // After the name, fields[0] is field 3 (state): utime is field 14, stime field 15.
  return sum([count(fields[11]), count(fields[12])]);
}

/** Resident memory of a process (`VmRSS`), from `/proc/<pid>/status`, in bytes. */
export function processRssBytes(text: string): number | undefined {
  for (const line of lines(text)) {
    const match = /^VmRSS:\s+(\d{1,16}) kB$/.exec(line);
    if (match) return kib(match[1]);
  }
  return undefined;
}

function kib(field: string | undefined): number | undefined {
  const n = count(field);
  return n === undefined || !Number.isSafeInteger(n * 1024) ? undefined : n * 1024;
}

/** The guest's memory as `/proc/meminfo` gives it. */
export interface GuestMemory {
  readonly totalBytes: number;
  /** `MemTotal - MemAvailable`: what the guest's processes and kernel hold and cannot give back. */
  readonly usedBytes: number;
}

/** Parses `/proc/meminfo` (needs `MemTotal` and `MemAvailable`). */
export function parseMeminfo(text: string): GuestMemory | undefined {
  let total: number | undefined;
  let available: number | undefined;
  for (const line of lines(text)) {
    const match = /^(MemTotal|MemAvailable):\s+(\d{1,16}) kB$/.exec(line);
    if (!match) continue;
    if (match[1] === "MemTotal") total = kib(match[2]);
    else available = kib(match[2]);
  }
  if (total === undefined || available === undefined || available > total) return undefined;
  return { totalBytes: total, usedBytes: total - available };
}

/** The guest's aggregate CPU time from `/proc/stat`, in clock ticks. */
export interface GuestCpu {
  /** Every state summed (user through steal). */
  readonly totalTicks: number;
  /** Idle and iowait. */
  readonly idleTicks: number;
  /** Number of `cpuN` lines. */
  readonly cpus: number;
}

/** Parses the `cpu` and `cpuN` lines of `/proc/stat`. */
export function parseGuestCpu(text: string): GuestCpu | undefined {
  let aggregate: GuestCpu | undefined;
  let cpus = 0;
  for (const line of lines(text)) {
    if (/^cpu\d{1,5} /.test(line)) cpus++;
    if (!line.startsWith("cpu ")) continue;
    const fields = line.slice(4).trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice).
    const values = fields.slice(0, 8).map(count);
    if (values.length < 8 || aggregate !== undefined) return undefined;
    const totalTicks = sum(values);
    const idleTicks = sum([values[3], values[4]]);
    if (totalTicks === undefined || idleTicks === undefined) return undefined;
    aggregate = { totalTicks, idleTicks, cpus: 0 };
  }
  if (aggregate === undefined || cpus === 0) return undefined;
  return { ...aggregate, cpus };
}

/** Bytes read and written, summed over devices. */
export interface IoBytes {
  readonly readBytes: number;
  readonly writeBytes: number;
}

/** Parses `/proc/diskstats`: sectors (512 bytes) read and written by the whole virtio disks (`vdX`). */
export function parseDiskstats(text: string): IoBytes | undefined {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of lines(text)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === "") continue;
    // major minor name reads merged sectors-read ms writes merged sectors-written ...
    if (fields.length < 14) return undefined;
    if (!/^vd[a-z]{1,3}$/.test(fields[2] ?? "")) continue;
    const read = count(fields[5]);
    const written = count(fields[9]);
    if (read === undefined || written === undefined) return undefined;
    readBytes += read * 512;
    writeBytes += written * 512;
  }
  if (!Number.isSafeInteger(readBytes) || !Number.isSafeInteger(writeBytes)) return undefined;
  return { readBytes, writeBytes };
}

/** Bytes received and sent, summed over interfaces. */
export interface NetBytes {
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** Parses `/proc/net/dev`: bytes received and sent by every interface but loopback. */
export function parseNetDev(text: string): NetBytes | undefined {
  const all = lines(text);
  if (!all[0]?.startsWith("Inter-") || !all[1]?.includes("|bytes")) return undefined;
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of all.slice(2)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon < 0) return undefined;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    // 8 receive counters, then 8 transmit counters; bytes come first in each.
    if (fields.length !== 16) return undefined;
    const rx = count(fields[0]);
    const tx = count(fields[8]);
    if (rx === undefined || tx === undefined) return undefined;
    if (name === "lo") continue;
    rxBytes += rx;
    txBytes += tx;
  }
  if (!Number.isSafeInteger(rxBytes) || !Number.isSafeInteger(txBytes)) return undefined;
  return { rxBytes, txBytes };
}

/** Sums `rd_bytes` and `wr_bytes` of a QMP `query-blockstats` reply (every device: the root disk today). */
export function parseBlockstats(reply: unknown): IoBytes | undefined {
  if (!Array.isArray(reply) || reply.length > 64) return undefined;
  let readBytes = 0;
  let writeBytes = 0;
  for (const entry of reply as unknown[]) {
    if (typeof entry !== "object" || entry === null) return undefined;
    const stats = (entry as Record<string, unknown>)["stats"];
    if (typeof stats !== "object" || stats === null) return undefined;
    const rd = (stats as Record<string, unknown>)["rd_bytes"];
    const wr = (stats as Record<string, unknown>)["wr_bytes"];
    if (!Number.isSafeInteger(rd) || !Number.isSafeInteger(wr) || (rd as number) < 0 || (wr as number) < 0) {
      return undefined;
    }
    readBytes += rd as number;
    writeBytes += wr as number;
  }
  return { readBytes, writeBytes };
}
