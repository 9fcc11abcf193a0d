/**
 * `network.tls`: validation into {@link CompiledTls} (every bad field is an `InvalidConfigError` naming it),
 * the bypass match, and {@link interceptionEnabled}: whether a sandbox intercepts TLS at all.
 *
 * @packageDocumentation
 */
import { failConfig } from "../../config/invalid.js";
import { parseDomainName } from "../policy/domain.js";

/** Default `network.tls.interceptedPorts`. */
export const DEFAULT_INTERCEPTED_PORTS: readonly number[] = Object.freeze([443]);

/** A validated `network.tls`. */
export interface CompiledTls {
  /** Exact names spliced untouched (normalised). */
  readonly bypassNames: ReadonlySet<string>;
  /** `*.suffix` patterns as suffixes (`"internal.example"`): every subdomain, not the name itself. */
  readonly bypassSuffixes: readonly string[];
  readonly verifyUpstream: boolean;
  readonly interceptedPorts: ReadonlySet<number>;
  readonly blockQuic: boolean;
  /** The user's CA (PEM paths, as given): both or neither. */
  readonly caCert: string | undefined;
  readonly caKey: string | undefined;
  /** Extra CAs trusted for upstream certificates (PEM paths, as given). */
  readonly upstreamCaCert: readonly string[];
}

const KEYS = new Set([
  "bypass",
  "verifyUpstream",
  "interceptedPorts",
  "blockQuic",
  "caCert",
  "caKey",
  "upstreamCaCert",
]);

/** Validates `raw` (the value of `field`, normally `network.tls`). */
export function compileTls(raw: unknown, field = "network.tls"): CompiledTls {
  if (raw === undefined) raw = {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) failConfig(field, "must be an object");
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.has(key)) failConfig(`${field}.${key}`, `is not a TLS setting (${[...KEYS].join(", ")})`);
  }
  const bypassNames = new Set<string>();
  const bypassSuffixes: string[] = [];
  list(`${field}.bypass`, record["bypass"]).forEach((entry, i) => {
    const at = `${field}.bypass[${i}]`;
    if (typeof entry !== "string") failConfig(at, "must be a string");
    const wildcard = entry.startsWith("*.");
    const parsed = parseDomainName(wildcard ? entry.slice(2) : entry);
    if (!parsed.ok) failConfig(at, parsed.message, 'use an exact name or "*.suffix"');
    if (wildcard) bypassSuffixes.push(parsed.name);
    else bypassNames.add(parsed.name);
  });
  const ports = list(`${field}.interceptedPorts`, record["interceptedPorts"] ?? DEFAULT_INTERCEPTED_PORTS);
  const interceptedPorts = new Set<number>();
  ports.forEach((port, i) => {
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535)
      failConfig(
        `${field}.interceptedPorts[${i}]`,
        `must be a port number (1-65535), got ${JSON.stringify(port)}`,
      );
    interceptedPorts.add(port);
  });
  const caCert = path(`${field}.caCert`, record["caCert"]);
  const caKey = path(`${field}.caKey`, record["caKey"]);
  if ((caCert === undefined) !== (caKey === undefined)) {
    failConfig(
      caCert === undefined ? `${field}.caCert` : `${field}.caKey`,
      "is required with the other (caCert and caKey come together)",
    );
  }
  const upstream = record["upstreamCaCert"];
  const upstreamCaCert = (
    typeof upstream === "string" ? [upstream] : list(`${field}.upstreamCaCert`, upstream)
  ).map(
    (entry, i) =>
      path(`${field}.upstreamCaCert[${i}]`, entry) ??
      failConfig(`${field}.upstreamCaCert[${i}]`, "must be a path"),
  );
  return Object.freeze({
    bypassNames,
    bypassSuffixes: Object.freeze(bypassSuffixes),
    verifyUpstream: flag(`${field}.verifyUpstream`, record["verifyUpstream"], true),
    interceptedPorts,
    blockQuic: flag(`${field}.blockQuic`, record["blockQuic"], false),
    caCert,
    caKey,
    upstreamCaCert: Object.freeze(upstreamCaCert),
  });
}

/** True when connections to `name` (a normalised SNI) are spliced untouched. */
export function isBypassed(tls: CompiledTls, name: string | undefined): boolean {
  if (name === undefined) return false;
  if (tls.bypassNames.has(name)) return true;
  return tls.bypassSuffixes.some((suffix) => name.length > suffix.length && name.endsWith(`.${suffix}`));
}

/**
 * Whether a sandbox intercepts TLS: when `network.tls` is given, or when it has secrets (a placeholder must be
 * seen wherever it is sent). The SDK and the supervisor both ask this.
 */
export function interceptionEnabled(config: {
  readonly network?: { readonly tls?: unknown } | undefined;
  readonly secrets?: readonly unknown[] | undefined;
}): boolean {
  return config.network?.tls !== undefined || (config.secrets?.length ?? 0) > 0;
}

function list(field: string, value: unknown): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) failConfig(field, "must be an array");
  if (value.length > 1024) failConfig(field, "has more than 1024 entries");
  return value;
}

function flag(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") failConfig(field, "must be a boolean");
  return value;
}

function path(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "" || value.includes("\0"))
    failConfig(field, "must be a path to a PEM file");
  return value;
}
