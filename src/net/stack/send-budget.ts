/**
 * One budget for the bytes all TCP connections of a sandbox hold for the guest (host data sent or waiting to be
 * sent, not yet acknowledged). Each connection is bounded by its send buffer; this bounds their sum, so a guest
 * that opens many connections and never reads cannot make the supervisor hold `maxConnections` full buffers.
 * A connection the budget stops is woken when enough of it frees up.
 *
 * @packageDocumentation
 */

/** The shared send budget of one stack. */
export class SendBudget {
  readonly limit: number;
  #used = 0;
  readonly #waiting = new Set<() => void>();

  /** @param limit bytes held for the guest across every connection */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Bytes that may still be taken. */
  get available(): number {
    return Math.max(0, this.limit - this.#used);
  }

  /** Records a change of `delta` bytes held (negative: released); wakes waiters once a quarter is free. */
  adjust(delta: number): void {
    this.#used = Math.max(0, this.#used + delta);
    if (delta < 0 && this.#waiting.size > 0 && this.available >= this.limit / 4) {
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const wake of waiting) wake();
    }
  }

  /** Calls `wake` once, the next time the budget frees up (a connection stopped by it). */
  wait(wake: () => void): void {
    this.#waiting.add(wake);
  }

  /** Forgets a waiter (its connection closed). */
  cancel(wake: () => void): void {
    this.#waiting.delete(wake);
  }
}
