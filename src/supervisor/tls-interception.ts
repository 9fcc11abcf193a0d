/**
 * The supervisor's side of TLS interception: the stack's interception options from the spec, with the CA key
 * read from its file (0600, never passed through the spec).
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import type { TlsInterceptionOptions } from "../net/stack/network-stack.js";
import type { TlsSpec } from "./spec.js";

/** `NetworkStack.start`'s `tlsInterception` for `spec`. */
export function tlsInterceptionOf(spec: TlsSpec): TlsInterceptionOptions {
  return {
    ca: { certPem: spec.caCertPem, keyPem: readFileSync(spec.caKeyPath, "utf8") },
    upstreamCaPems: spec.upstreamCaPems,
  };
}
