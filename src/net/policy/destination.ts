/**
 * Rule destinations: parsing (`"*"`, group, CIDR or address, `.suffix`, exact domain) and matching.
 *
 * @packageDocumentation
 */
import type { IpAddress } from "../ip/address.js";
import { type Cidr, cidrContains, formatCidr, parseCidr } from "../ip/cidr.js";
import { isPublicAddress } from "../ip/special.js";
import { matchesDomainSuffix, parseDomainName } from "./domain.js";
import { GROUP_PREFIXES } from "./groups.js";
import { ADDRESS_GROUPS, type AddressGroup } from "./types.js";

/** A validated rule destination. */
export type Destination =
  /** `"*"`. `publicOnly`: an allow rule under a preset other than allow-all (matches global addresses only). */
  | { readonly kind: "any"; readonly publicOnly: boolean }
  | { readonly kind: "cidr"; readonly cidr: Cidr }
  | { readonly kind: "group"; readonly group: AddressGroup }
  | { readonly kind: "domain"; readonly name: string }
  | { readonly kind: "suffix"; readonly suffix: string };

function isGroup(text: string): text is AddressGroup {
  return (ADDRESS_GROUPS as readonly string[]).includes(text);
}

function looksLikeAddress(text: string): boolean {
  return text.includes("/") || text.includes(":") || /^[\d.]+$/.test(text);
}

/** Parses a rule destination; returns it or a message saying what is wrong. */
export function parseDestination(
  input: unknown,
): { ok: true; destination: Destination } | { ok: false; message: string } {
  if (typeof input !== "string") return { ok: false, message: `must be a string, got ${typeof input}` };
  const text = input.trim();
  if (text === "") return { ok: false, message: "must not be empty" };
  if (text === "*") return { ok: true, destination: { kind: "any", publicOnly: false } };
  if (isGroup(text)) return { ok: true, destination: { kind: "group", group: text } };
  if (looksLikeAddress(text)) {
    const parsed = parseCidr(text);
    return parsed.ok ? { ok: true, destination: { kind: "cidr", cidr: parsed.cidr } } : parsed;
  }
  if (text.startsWith("*."))
    return {
      ok: false,
      message: `wildcards are not supported; write "${text.slice(1)}" for a domain and its subdomains`,
    };
  if (text.startsWith(".")) {
    const suffix = parseDomainName(text.slice(1));
    return suffix.ok ? { ok: true, destination: { kind: "suffix", suffix: suffix.name } } : suffix;
  }
  const domain = parseDomainName(text);
  if (!domain.ok) return domain;
  if (!domain.name.includes(".")) {
    return {
      ok: false,
      message: `"${text}" is neither a group (${ADDRESS_GROUPS.join(", ")}) nor a fully qualified domain name`,
    };
  }
  return { ok: true, destination: { kind: "domain", name: domain.name } };
}

/** True when a destination can only ever match addresses of one family (4 or 6); undefined otherwise. */
export function destinationFamily(destination: Destination): 4 | 6 | undefined {
  return destination.kind === "cidr" ? destination.cidr.network.family : undefined;
}

/** True when `destination` matches the (unmapped) `address` or one of the (normalised) DNS `names`. */
export function destinationMatches(
  destination: Destination,
  address: IpAddress,
  names: readonly string[],
): boolean {
  switch (destination.kind) {
    case "any":
      return !destination.publicOnly || isPublicAddress(address);
    case "cidr":
      return cidrContains(destination.cidr, address);
    case "group":
      return GROUP_PREFIXES[destination.group].some((prefix) => cidrContains(prefix, address));
    case "domain":
      return names.includes(destination.name);
    case "suffix":
      return names.some((name) => matchesDomainSuffix(name, destination.suffix));
  }
}

/** Formats a destination for decision reasons. */
export function formatDestination(destination: Destination): string {
  switch (destination.kind) {
    case "any":
      return destination.publicOnly ? "* (public addresses)" : "*";
    case "cidr":
      return formatCidr(destination.cidr);
    case "group":
      return destination.group;
    case "domain":
      return destination.name;
    case "suffix":
      return `.${destination.suffix}`;
  }
}
