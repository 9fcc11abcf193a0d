/**
 * Where a secret may go: the flow's host against the secret's `allowHosts` (exact) and `allowHostPatterns`
 * (`*.example.com`: one or more labels under it), and, with `requireTls`, only inside TLS whose upstream
 * certificate verified for that host.
 *
 * @packageDocumentation
 */
import type { RelayFlow } from "../net/tls/plaintext-relay.js";
import type { RedactedSecret } from "./config.js";

/** Whether `host` (any case, trailing dot allowed) is one the secret lists. */
export function hostAllowed(
  secret: Pick<RedactedSecret, "allowHosts" | "allowHostPatterns">,
  host: string,
): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (secret.allowHosts.includes(name)) return true;
  return secret.allowHostPatterns.some((pattern) => {
    const suffix = pattern.slice(1); // "*.example.com" -> ".example.com"
    return name.endsWith(suffix) && name.length > suffix.length;
  });
}

/** Why the secret may not be substituted on `flow`, or undefined when it may. Never mentions the value. */
export function refusalFor(
  secret: Pick<RedactedSecret, "allowHosts" | "allowHostPatterns" | "requireTls">,
  flow: Pick<RelayFlow, "host" | "tls" | "upstreamVerified">,
): string | undefined {
  if (!hostAllowed(secret, flow.host)) return `${flow.host} is not an allowed host`;
  if (secret.requireTls && !flow.tls) return "the secret requires TLS and the connection is plain";
  if (secret.requireTls && !flow.upstreamVerified) {
    return "the secret requires TLS with a verified upstream certificate";
  }
  return undefined;
}
