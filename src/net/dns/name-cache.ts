/**
 * The names the sandbox's own resolver answered with each address, expiring with the answers' TTL. Domain rules
 * of the policy match through these (`FlowRequest.names`). Bounded: the oldest address is forgotten first.
 *
 * @packageDocumentation
 */
import { normalizeDomainName } from "../policy/domain.js";

/** Options of a {@link NameCache}. */
export interface NameCacheOptions {
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Addresses remembered at most (default 4096). */
  readonly maxAddresses?: number;
  /** Names remembered per address at most (default 32; the oldest goes first). */
  readonly maxNamesPerAddress?: number;
  /** Shortest lifetime of an entry, so a TTL-0 answer still covers the connection that follows (default 5 s). */
  readonly minTtlSeconds?: number;
  /** Longest lifetime of an entry (default 1 day). */
  readonly maxTtlSeconds?: number;
}

/** Address → (name → expiry). */
export class NameCache {
  readonly #entries = new Map<string, Map<string, number>>();
  readonly #now: () => number;
  readonly #maxAddresses: number;
  readonly #maxNames: number;
  readonly #minTtl: number;
  readonly #maxTtl: number;

  constructor(options: NameCacheOptions) {
    this.#now = options.now;
    this.#maxAddresses = options.maxAddresses ?? 4096;
    this.#maxNames = options.maxNamesPerAddress ?? 32;
    this.#minTtl = options.minTtlSeconds ?? 5;
    this.#maxTtl = options.maxTtlSeconds ?? 86_400;
  }

  /** Addresses currently held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Records that `name` resolved to `address` (canonical text form) for `ttlSeconds`. */
  record(address: string, name: string, ttlSeconds: number): void {
    const ttl = Math.min(this.#maxTtl, Math.max(this.#minTtl, ttlSeconds));
    const expires = this.#now() + ttl * 1000;
    let names = this.#entries.get(address);
    if (names === undefined) {
      if (this.#entries.size >= this.#maxAddresses) this.#evictOldest();
      names = new Map();
    } else {
      this.#entries.delete(address); // re-insert: most recently used last
    }
    const key = normalizeDomainName(name);
    names.delete(key);
    names.set(key, Math.max(expires, names.get(key) ?? 0));
    while (names.size > this.#maxNames) {
      const first = names.keys().next();
      if (first.done === true) break;
      names.delete(first.value);
    }
    this.#entries.set(address, names);
  }

  /** The unexpired names of `address` (canonical text form). */
  namesOf(address: string): string[] {
    const names = this.#entries.get(address);
    if (names === undefined) return [];
    const now = this.#now();
    const live: string[] = [];
    for (const [name, expires] of names) {
      if (expires > now) live.push(name);
      else names.delete(name);
    }
    if (names.size === 0) this.#entries.delete(address);
    return live;
  }

  #evictOldest(): void {
    const first = this.#entries.keys().next();
    if (first.done !== true) this.#entries.delete(first.value);
  }
}
