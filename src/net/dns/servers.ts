/**
 * Upstream DNS servers: parsed from `MSB_DNS_SERVERS`-style text (`ip[:port]`, `[v6]:port`) or read from the
 * host's resolv.conf. Loopback stub resolvers (systemd-resolved's 127.0.0.53) are kept: the supervisor runs on
 * the host, where they work.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { InvalidConfigError } from "../../errors.js";
import { parseIpAddress, formatIpAddress } from "../ip/address.js";

/** One upstream resolver. */
export interface DnsServer {
  /** Canonical address text. */
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

function server(text: string, port: number, field: string): DnsServer {
  const ip = parseIpAddress(text);
  if (ip === undefined) throw new InvalidConfigError(field, `not an IP address: ${JSON.stringify(text)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidConfigError(field, `port out of range in ${JSON.stringify(text)}`);
  }
  return { address: formatIpAddress(ip), family: ip.family, port };
}

/** Parses one `ip`, `ip:port`, `ipv6` or `[ipv6]:port`. Throws {@link InvalidConfigError}. */
export function parseDnsServer(text: string, field = "dnsServers"): DnsServer {
  const trimmed = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracket !== null) return server(bracket[1] ?? "", Number(bracket[2] ?? "53"), field);
  const v4 = /^([0-9.]+):(\d+)$/.exec(trimmed);
  if (v4 !== null) return server(v4[1] ?? "", Number(v4[2]), field);
  return server(trimmed, 53, field);
}

/** Parses a list of servers (the entries of `MSB_DNS_SERVERS`). */
export function parseDnsServers(entries: readonly string[], field = "dnsServers"): DnsServer[] {
  return entries.map((entry, i) => parseDnsServer(entry, `${field}[${i}]`));
}

/** The `nameserver` lines of a resolv.conf text (unparsable lines are skipped: the host's file, not config). */
export function serversFromResolvConf(text: string): DnsServer[] {
  const out: DnsServer[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = match?.[1]?.replace(/%.*$/, "");
    const ip = address === undefined ? undefined : parseIpAddress(address);
    if (ip !== undefined) out.push({ address: formatIpAddress(ip), family: ip.family, port: 53 });
  }
  return out;
}

/** The host's resolvers from `/etc/resolv.conf` (empty when the file is missing). */
export function hostDnsServers(path = "/etc/resolv.conf"): DnsServer[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return serversFromResolvConf(text);
}
