/**
 * The TLS part of a supervisor spec: whether the sandbox intercepts TLS (`interceptionEnabled`), the CA (the
 * user's `network.tls.caCert`/`caKey`, checked, or the per-installation one, made on first use) and the extra
 * upstream CAs (`network.tls.upstreamCaCert`, and the creating process's `NODE_EXTRA_CA_CERTS`). Also resolves
 * the config's relative PEM paths against the creator's directory, so a later start finds the same files.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { installationCa, installationCaPaths, readCaCertificates, userCa } from "../net/tls/ca.js";
import { compileTls, interceptionEnabled } from "../net/tls/config.js";
import type { NetworkConfig, TlsConfig } from "../net/policy/types.js";
import type { TlsSpec } from "../supervisor/spec.js";

/** `network` with the PEM paths of `network.tls` made absolute (against `cwd`). */
export function resolveTlsPaths(network: NetworkConfig, cwd: string): NetworkConfig {
  const tls = network.tls;
  if (tls === undefined) return network;
  const abs = (path: string): string => resolve(cwd, path);
  const upstream = tls.upstreamCaCert;
  const resolved: TlsConfig = {
    ...tls,
    ...(tls.caCert === undefined ? {} : { caCert: abs(tls.caCert) }),
    ...(tls.caKey === undefined ? {} : { caKey: abs(tls.caKey) }),
    ...(upstream === undefined
      ? {}
      : { upstreamCaCert: typeof upstream === "string" ? abs(upstream) : upstream.map(abs) }),
  };
  return { ...network, tls: resolved };
}

/** The spec's `tls`, or undefined when the sandbox does not intercept TLS. Bad PEM files: `InvalidConfigError`. */
export async function buildTlsSpec(
  config: { readonly network?: NetworkConfig | undefined; readonly secrets?: readonly unknown[] | undefined },
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TlsSpec | undefined> {
  if (!interceptionEnabled(config)) return undefined;
  const tls = compileTls(config.network?.tls);
  let caCertPem: string;
  let caKeyPath: string;
  if (tls.caCert !== undefined && tls.caKey !== undefined) {
    caCertPem = userCa(tls.caCert, tls.caKey).certPem;
    caKeyPath = tls.caKey;
  } else {
    caCertPem = (await installationCa(home)).certPem;
    caKeyPath = installationCaPaths(home).key;
  }
  const upstreamCaPems = readCaCertificates(tls.upstreamCaCert, "network.tls.upstreamCaCert");
  const extra = nodeExtraCaCerts(env);
  if (extra !== undefined) upstreamCaPems.push(extra);
  return { caCertPem, caKeyPath, upstreamCaPems };
}

/** The PEM text of `NODE_EXTRA_CA_CERTS`, when set and readable (Node itself only warns when it is not). */
function nodeExtraCaCerts(env: NodeJS.ProcessEnv): string | undefined {
  const path = env["NODE_EXTRA_CA_CERTS"];
  if (path === undefined || path === "") return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    // Like Node: an unreadable NODE_EXTRA_CA_CERTS adds nothing and is not an error.
    if (err instanceof Error) return undefined;
    throw err;
  }
}
