/**
 * Published ports: `{ "8080": 80 }` publishes guest TCP port 80 on the host's port 8080; `"5353/udp": 53`
 * publishes UDP. Validated completely; every bad entry is an {@link InvalidConfigError} naming it.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import { parseIpAddress } from "../ip/address.js";

/** The `ports` field: host port (`"8080"`, `"8080/tcp"`, `"8080/udp"`) → guest port. */
export type PortsConfig = Readonly<Record<string, number>>;

/** One published port. */
export interface PortMapping {
  readonly protocol: "tcp" | "udp";
  readonly hostPort: number;
  readonly guestPort: number;
}

function port(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidConfigError(field, `must be a port number 1..65535, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses and validates `ports`. A host port may be published once per protocol. */
export function parsePorts(config: PortsConfig | undefined, field = "ports"): PortMapping[] {
  if (config === undefined) return [];
  if (typeof config !== "object" || Array.isArray(config)) {
    throw new InvalidConfigError(field, 'must be an object like { "8080": 80 }');
  }
  const seen = new Set<string>();
  return Object.entries(config).map(([key, guest]) => {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
    if (match === null) {
      throw new InvalidConfigError(
        `${field}.${key}`,
        'the key must be a host port: "8080", "8080/tcp" or "8080/udp"',
      );
    }
    const protocol = match[2] === "udp" ? "udp" : "tcp";
    const hostPort = port(`${field}.${key}`, Number(match[1]));
    if (seen.has(`${protocol}/${hostPort}`)) {
      throw new InvalidConfigError(`${field}.${key}`, `host ${protocol} port ${hostPort} is published twice`);
    }
    seen.add(`${protocol}/${hostPort}`);
    return { protocol, hostPort, guestPort: port(`${field}.${key}`, guest) };
  });
}

/** Validates the bind address of published ports (default `127.0.0.1`). */
export function checkBindAddress(address: string | undefined, field = "portBindAddress"): string {
  const value = address ?? "127.0.0.1";
  if (parseIpAddress(value) === undefined) {
    throw new InvalidConfigError(field, `must be an IP address, got ${JSON.stringify(value)}`);
  }
  return value;
}
