/**
 * Domain names: normalisation, validation of configured names, suffix matching and the DNS block lists.
 *
 * @packageDocumentation
 */
import { domainToASCII } from "node:url";

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const NUMERIC = /^\d+$/;

/** Lower-cases a name and removes one trailing dot (`"API.Example.COM."` -> `"api.example.com"`). */
export function normalizeDomainName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * Normalises a configured name: {@link normalizeDomainName}, then IDNA to its ASCII (punycode) form, which is
 * what DNS carries. Returns the name, or a message saying what is wrong with it.
 */
export function parseDomainName(text: string): { ok: true; name: string } | { ok: false; message: string } {
  let name = normalizeDomainName(text.trim());
  if (name === "") return { ok: false, message: "must not be empty" };
  if (/[^\x20-\x7e]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === "") return { ok: false, message: `"${text}" is not a valid internationalised domain name` };
    name = ascii;
  }
  if (name.length > 253) return { ok: false, message: `"${text}" is longer than 253 characters` };
  const labels = name.split(".");
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return {
        ok: false,
        message: `"${text}" has an invalid label "${label}" (letters, digits, "-", "_"; 1-63 long)`,
      };
    }
  }
  if (NUMERIC.test(labels[labels.length - 1] ?? "")) {
    return { ok: false, message: `"${text}" is not a domain name (numeric top-level label)` };
  }
  return { ok: true, name };
}

/** True when `name` is `suffix` itself or a subdomain of it (both normalised, suffix without leading dot). */
export function matchesDomainSuffix(name: string, suffix: string): boolean {
  return name === suffix || (name.length > suffix.length && name.endsWith(`.${suffix}`));
}

/** The DNS block lists of a network configuration. */
export interface DomainBlockLists {
  /** Exact names. */
  readonly blockDomains?: readonly string[];
  /** Suffixes (with or without a leading dot): the name and all its subdomains. */
  readonly blockDomainSuffixes?: readonly string[];
}

/**
 * True when the resolver must refuse `name`: it equals a `blockDomains` entry, or equals or is a subdomain
 * of a `blockDomainSuffixes` entry. Case-insensitive; trailing dots (on either side) ignored.
 */
export function isDomainBlocked(name: string, lists: DomainBlockLists): boolean {
  const normalized = normalizeDomainName(name);
  if (normalized === "") return false;
  if ((lists.blockDomains ?? []).some((d) => normalizeDomainName(d) === normalized)) return true;
  return (lists.blockDomainSuffixes ?? []).some((s) => {
    const suffix = normalizeDomainName(s.startsWith(".") ? s.slice(1) : s);
    return suffix !== "" && matchesDomainSuffix(normalized, suffix);
  });
}
