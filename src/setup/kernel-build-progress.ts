/**
 * Progress of a kernel build from make's output. Kbuild prints one short line per step (`  CC      mm/slub.o`);
 * the percentage is the count of those lines against the count a complete build of the same recipe printed
 * when it was measured ({@link EXPECTED_BUILD_STEPS}), capped at 99 % until make exits.
 */

/** Build steps (Kbuild lines) of a complete `make vmlinux` of the microVM config, measured on 6.1.192. */
export const EXPECTED_BUILD_STEPS = 1900;

const STEP = /^\s{2}([A-Z][A-Z0-9_]{1,9})\s+\S/;

/** True when `line` is one Kbuild step (`  CC      kernel/fork.o`, `  LD      vmlinux`). */
export function isBuildStep(line: string): boolean {
  return STEP.test(line);
}

/** Counts build steps and reports the percentage each time it crosses another `every` percent. */
export class BuildProgress {
  readonly #expected: number;
  readonly #every: number;
  #steps = 0;
  #reported = 0;

  /**
   * @param expected - steps of a complete build (at least 1).
   * @param every - report granularity in percent (1 to 100).
   */
  constructor(expected: number = EXPECTED_BUILD_STEPS, every = 5) {
    this.#expected = Math.max(1, expected);
    this.#every = Math.min(100, Math.max(1, every));
  }

  /** Steps seen so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Current estimate in percent, 0 to 99 (100 only comes from make exiting: see {@link BuildProgress.done}). */
  get percent(): number {
    return Math.min(99, Math.floor((this.#steps * 100) / this.#expected));
  }

  /**
   * Feeds one line of make's output.
   *
   * @returns the new percentage when it reached the next reporting mark, else `undefined`.
   */
  feed(line: string): number | undefined {
    if (!isBuildStep(line)) return undefined;
    this.#steps += 1;
    const percent = this.percent;
    if (percent < this.#reported + this.#every) return undefined;
    this.#reported = percent - (percent % this.#every);
    return percent;
  }
}

/** A text progress bar: `[########............]  40%`. */
export function progressBar(percent: number, width = 20): string {
  const clamped = Math.min(100, Math.max(0, Math.round(percent)));
  const filled = Math.round((clamped * width) / 100);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(clamped).padStart(3)}%`;
}
