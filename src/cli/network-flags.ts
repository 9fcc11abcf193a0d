/**
 * docker-like network flags on `msb run` / `msb create`: `-p HOST:GUEST[/tcp|/udp]` (published ports),
 * `--network none|public-only|allow-all`, `--block-domain NAME` (`*.NAME` or `.NAME`: the name and every
 * subdomain), and `--secret ENV=VALUE@HOST[,HOST...]` (`ENV@HOST...`: the value of ENV in msb's own
 * environment, which keeps it off the command line; a host `*.example.com` is a pattern). They become the seed's
 * `ports`, `network` and `secrets` options, which the SDK validates like any other. A secret's value is never
 * part of an error message.
 */
import { InvalidConfigError } from "../errors.js";
import { Secret } from "../index.js";
import type { SecretEntry } from "../index.js";
import { POLICY_PRESETS } from "../net/policy/types.js";
import type { NetworkConfig, PolicyPreset } from "../net/policy/types.js";
import type { PortsConfig } from "../net/ports/config.js";

/** One `-p` value as its `ports` entry (host key, guest port). */
export function parsePublishFlag(spec: string): [string, number] {
  const match = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/i.exec(spec.trim());
  const port = (text: string | undefined): number | undefined => {
    const n = Number(text);
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
  };
  const host = port(match?.[1]);
  const guest = port(match?.[2]);
  if (match === null || host === undefined || guest === undefined) {
    throw new InvalidConfigError("--publish", `expected HOST:GUEST[/udp], got ${JSON.stringify(spec)}`, {
      hint: "e.g. -p 8080:80, -p 5353:53/udp (ports 1-65535)",
    });
  }
  const protocol = (match[3] ?? "tcp").toLowerCase();
  return [protocol === "udp" ? `${host}/udp` : String(host), guest];
}

/** The `ports` option of repeated `-p` values; a host port published twice (per protocol) is an error. */
export function portsFromFlags(specs: readonly string[]): PortsConfig | undefined {
  if (specs.length === 0) return undefined;
  const ports: Record<string, number> = {};
  for (const spec of specs) {
    const [key, guest] = parsePublishFlag(spec);
    if (Object.hasOwn(ports, key)) {
      const what = key.endsWith("/udp") ? `udp port ${key.slice(0, -4)}` : `tcp port ${key}`;
      throw new InvalidConfigError("--publish", `host ${what} is published twice`);
    }
    ports[key] = guest;
  }
  return ports;
}

/** The `network` option of `--network` and repeated `--block-domain`, or undefined when neither is given. */
export function networkFromFlags(
  preset: string | undefined,
  blockDomains: readonly string[],
): NetworkConfig | undefined {
  if (preset === undefined && blockDomains.length === 0) return undefined;
  if (preset !== undefined && !(POLICY_PRESETS as readonly string[]).includes(preset)) {
    throw new InvalidConfigError(
      "--network",
      `expected ${POLICY_PRESETS.join(", ")}, got ${JSON.stringify(preset)}`,
    );
  }
  const exact: string[] = [];
  const suffixes: string[] = [];
  for (const name of blockDomains) {
    const suffix = name.startsWith("*.") ? name.slice(2) : name.startsWith(".") ? name.slice(1) : undefined;
    const domain = suffix ?? name;
    if (domain === "" || /[\s/@:]/.test(domain)) {
      throw new InvalidConfigError("--block-domain", `expected a domain name, got ${JSON.stringify(name)}`, {
        hint: "e.g. --block-domain ads.example.com, --block-domain '*.example.com' (every subdomain too)",
      });
    }
    (suffix === undefined ? exact : suffixes).push(domain);
  }
  return {
    ...(preset === undefined ? {} : { policy: preset as PolicyPreset }),
    ...(exact.length > 0 ? { blockDomains: exact } : {}),
    ...(suffixes.length > 0 ? { blockDomainSuffixes: suffixes } : {}),
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/**
 * One `--secret` value as the seed's secret entry. `environment` is where `ENV@HOST` takes its value from (msb's
 * own environment). Errors name the variable, never the value.
 */
export function parseSecretFlag(
  spec: string,
  environment: Readonly<Record<string, string | undefined>>,
): SecretEntry {
  const at = spec.lastIndexOf("@");
  const eq = spec.indexOf("=");
  const hasValue = eq >= 0 && eq < at;
  const name = at < 0 ? spec.slice(0, eq < 0 ? undefined : eq) : spec.slice(0, hasValue ? eq : at);
  // Without an @ the text may be the value itself (a mistaken flag): it is not shown, not even as a name.
  if (at < 0 || !ENV_NAME.test(name)) {
    throw new InvalidConfigError("--secret", "expected ENV=VALUE@HOST or ENV@HOST", {
      hint: "e.g. --secret OPENAI_API_KEY@api.openai.com (the value from msb's environment)",
    });
  }
  const hosts = spec.slice(at + 1).split(",");
  if (hosts.some((h) => !HOST.test(h))) {
    throw new InvalidConfigError("--secret", `${name}: the hosts after @ must be host names (or *.domain)`, {
      hint: "e.g. @api.openai.com or @api.example.com,*.example.org",
    });
  }
  const value = hasValue ? spec.slice(eq + 1, at) : environment[name];
  if (value === undefined || value === "") {
    throw new InvalidConfigError(
      "--secret",
      hasValue ? `${name}: the value is empty` : `${name} is not set in msb's environment`,
      { hint: `set ${name} in the environment msb runs in, or give ${name}=VALUE@HOST` },
    );
  }
  const patterns = hosts.filter((h) => h.startsWith("*."));
  const exact = hosts.filter((h) => !h.startsWith("*."));
  return Secret.env(name, {
    value,
    ...(exact.length > 0 ? { allowHosts: exact } : {}),
    ...(patterns.length > 0 ? { allowHostPatterns: patterns } : {}),
  });
}

/** The `secrets` option of repeated `--secret` values; a variable given twice is an error. */
export function secretsFromFlags(
  specs: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
): SecretEntry[] | undefined {
  if (specs.length === 0) return undefined;
  const secrets = specs.map((spec) => parseSecretFlag(spec, environment));
  const seen = new Set<string>();
  for (const { envVar } of secrets) {
    if (seen.has(envVar)) throw new InvalidConfigError("--secret", `${envVar} is given twice`);
    seen.add(envVar);
  }
  return secrets;
}
