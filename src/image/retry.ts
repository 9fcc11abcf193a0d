/** Retries with exponential backoff and jitter, for transient registry and network failures. */
import { setTimeout as sleep } from "node:timers/promises";
import { RegistryHttpError } from "./registry/client.js";

/** How many times, and how patiently, to retry. */
export interface RetryPolicy {
  /** Total attempts, including the first (default 5). */
  readonly attempts: number;
  /** Delay before the second attempt; doubles each time (default 250 ms). */
  readonly baseDelayMs: number;
  /** Upper bound of one delay (default 5 s). */
  readonly maxDelayMs: number;
}

/** The default policy: 5 attempts, 250 ms doubling up to 5 s (about 4 s of waiting in total). */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, baseDelayMs: 250, maxDelayMs: 5000 });

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** True for failures worth retrying: connection errors, timeouts, truncated bodies, HTTP 408/429/5xx. */
export function isTransient(error: unknown): boolean {
  if (error instanceof RegistryHttpError)
    return error.status === 408 || error.status === 429 || error.status >= 500;
  if (error instanceof ShortBodyError) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && TRANSIENT_CODES.has(code);
}

/** A body ended before the expected number of bytes (the connection closed cleanly, but early). */
export class ShortBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShortBodyError";
  }
}

/**
 * Runs `attempt` until it succeeds, a non-transient error occurs, or the attempts are spent (the last error is
 * thrown). `attempt` receives the attempt number, starting at 1.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  options: { policy: RetryPolicy; signal?: AbortSignal; transient?: (error: unknown) => boolean },
): Promise<T> {
  const transient = options.transient ?? isTransient;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= options.policy.attempts || !transient(error) || options.signal?.aborted === true) throw error;
      const delay = Math.min(options.policy.maxDelayMs, options.policy.baseDelayMs * 2 ** (n - 1));
      await sleep(
        delay / 2 + Math.random() * (delay / 2),
        undefined,
        options.signal === undefined ? {} : { signal: options.signal },
      );
    }
  }
}
