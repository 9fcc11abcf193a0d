/** Test helpers for the secrets guard: a guard with recorded logs and terminations, and flows. */
import type { RelayFlow, RelaySession, RelayVerdict } from "../net/tls/plaintext-relay.js";
import { validateSecrets } from "./config.js";
import type { SecretEntry } from "./config.js";
import { SecretGuard } from "./guard.js";

/** A guard over `secrets`, with what it logged and every termination it asked for. */
export function testGuard(
  secrets: readonly SecretEntry[],
  bufferBudgetBytes?: number,
): {
  guard: SecretGuard;
  logs: string[];
  terminations: string[];
} {
  const logs: string[] = [];
  const terminations: string[] = [];
  const guard = new SecretGuard({
    secrets: validateSecrets(secrets, undefined),
    log: (level, message, fields) => logs.push(`${level} ${message} ${JSON.stringify(fields)}`),
    terminate: (reason) => terminations.push(reason),
    ...(bufferBudgetBytes === undefined ? {} : { bufferBudgetBytes }),
  });
  return { guard, logs, terminations };
}

/** A flow to `host`: TLS with a verified upstream unless said otherwise. */
export function flowTo(host: string, overrides: Partial<RelayFlow> = {}): RelayFlow {
  return {
    host,
    names: [host],
    address: "45.33.0.80",
    port: 443,
    tls: true,
    upstreamVerified: true,
    alpn: undefined,
    ...overrides,
  };
}

/** What a session forwards for `data` fed in chunks of `size` (then the end), or the block reason. */
export function feed(session: RelaySession, data: Buffer, size: number): Buffer | { block: string } {
  const out: Buffer[] = [];
  const take = (verdict: RelayVerdict): boolean => {
    if ("block" in verdict) return false;
    for (const chunk of verdict.forward) out.push(Buffer.from(chunk));
    return true;
  };
  for (let at = 0; at < data.length; at += size) {
    const verdict = session.fromGuest(Buffer.from(data.subarray(at, at + size)));
    if (!take(verdict)) return verdict as { block: string };
  }
  const last = session.endFromGuest();
  if (!take(last)) return last as { block: string };
  return Buffer.concat(out);
}

/** The bytes of a {@link feed} that must not have been blocked. */
export function forwarded(result: Buffer | { block: string }): Buffer {
  if (!Buffer.isBuffer(result)) throw new Error(`blocked: ${result.block}`);
  return result;
}
