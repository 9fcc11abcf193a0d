/**
 * One budget for the request bodies a guard holds in memory across all of a sandbox's connections: a guest that
 * opens many connections each with a large buffered body gets blocked, never grows the supervisor without bound.
 *
 * @packageDocumentation
 */

/** Bytes held, shared by every connection of one guard. */
export class BufferBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit; false otherwise (nothing taken). */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back what {@link take} took. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
