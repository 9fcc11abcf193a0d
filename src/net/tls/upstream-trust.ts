/**
 * What upstream certificates are verified against: Node's bundled roots, the host's system bundle (the first
 * found of the usual paths) and the extra CAs (`network.tls.upstreamCaCert`, the creator's
 * `NODE_EXTRA_CA_CERTS`). Built once per stack: a context with hundreds of roots is costly to make.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import type { SecureContext } from "node:tls";
import type * as Tls from "node:tls";
import { LazyModule } from "../../os/lazy-module.js";

/** Node's TLS module, loaded when a stack intercepts TLS (see `lazy-module.ts`). */
const tls = new LazyModule<typeof Tls>("node:tls");

/** System bundles, Debian/Ubuntu/Alpine first, then Fedora/RHEL, then macOS/BSD. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

/** The host's system CA bundle (PEM), or undefined when none of the usual files exists. */
export function systemCaBundle(paths: readonly string[] = SYSTEM_BUNDLES): string | undefined {
  for (const path of paths) {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return undefined;
}

/** The trust context for upstream connections: host roots plus `extraCaPems`. */
export function upstreamTrust(extraCaPems: readonly string[]): SecureContext {
  const system = systemCaBundle();
  return tls.get().createSecureContext({
    ca: [...tls.get().rootCertificates, ...(system === undefined ? [] : [system]), ...extraCaPems],
  });
}
