/** The shape every benchmark reports, printed as a table or as JSON by `bench/run.ts`. */
export interface BenchResult {
  /** What was measured, e.g. `boot.ready-vs-bare-qemu`. */
  readonly name: string;
  /** Our figure. */
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, when the figure is a comparison. */
  readonly baseline?: number;
  /** value / baseline (lower is better unless the name says otherwise). */
  readonly ratio?: number;
  /** Free-form context (sample count, accelerator...). */
  readonly note?: string;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The p-th percentile (nearest rank) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  const value = sorted[rank];
  if (value === undefined) throw new Error("percentile of an empty list");
  return value;
}

/**
 * The median of the per-run ratios `ours[i] / baseline[i]` of runs taken in pairs, one right after the other.
 * On a noisy machine this is steadier than a ratio of medians: a slow phase slows both halves of a pair.
 */
export function pairedRatio(ours: readonly number[], baseline: readonly number[]): number {
  if (ours.length !== baseline.length) throw new Error("paired runs of different counts");
  return median(ours.map((value, i) => value / (baseline[i] ?? Number.NaN)));
}

/**
 * Throughput of `run`, which moves data and resolves with the byte count: MB/s (10^6 bytes) of wall time. Throws
 * when it moved other than `expected` bytes, so a short transfer never reads as a fast one.
 */
export async function throughputMBps(expected: number, run: () => Promise<number>): Promise<number> {
  const started = performance.now();
  const bytes = await run();
  if (bytes !== expected) throw new Error(`moved ${bytes} bytes, expected ${expected}`);
  return expected / 1e6 / ((performance.now() - started) / 1000);
}
