/**
 * Validation of one policy rule into its compiled form, and rule matching.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import type { IpAddress } from "../ip/address.js";
import {
  type Destination,
  destinationFamily,
  destinationMatches,
  formatDestination,
  parseDestination,
} from "./destination.js";
import { type PortRange, parsePortSpec } from "./port.js";
import {
  POLICY_ACTIONS,
  POLICY_DIRECTIONS,
  POLICY_PROTOCOLS,
  type PolicyAction,
  type PolicyDirection,
  type PolicyProtocol,
} from "./types.js";

/** A validated rule. */
export interface CompiledRule {
  /** Index in the configured `rules`. */
  readonly index: number;
  /** Field path, e.g. `network.rules[2]`. */
  readonly field: string;
  readonly action: PolicyAction;
  readonly direction: PolicyDirection;
  readonly destination: Destination;
  readonly protocol: PolicyProtocol | undefined;
  readonly ports: PortRange | undefined;
  /** Short text such as `deny tcp 10.0.0.0/8 port 22`, for decision reasons. */
  readonly description: string;
}

const RULE_KEYS = new Set(["action", "direction", "destination", "protocol", "port"]);

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidConfigError(
    field,
    `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(value)}`,
  );
}

function checkConsistency(field: string, rule: Omit<CompiledRule, "description">): void {
  if (rule.ports !== undefined && (rule.protocol === "icmpv4" || rule.protocol === "icmpv6")) {
    throw new InvalidConfigError(
      `${field}.port`,
      `${rule.protocol} has no ports; remove "port" or use tcp/udp`,
    );
  }
  const family = destinationFamily(rule.destination);
  if ((rule.protocol === "icmpv4" && family === 6) || (rule.protocol === "icmpv6" && family === 4)) {
    throw new InvalidConfigError(
      `${field}.protocol`,
      `${rule.protocol} never matches destination ${formatDestination(rule.destination)}`,
    );
  }
  if (
    rule.direction === "inbound" &&
    (rule.destination.kind === "domain" || rule.destination.kind === "suffix")
  ) {
    throw new InvalidConfigError(
      `${field}.destination`,
      "domain destinations apply to outbound rules only (inbound peers have no DNS names)",
    );
  }
}

function describe(rule: Omit<CompiledRule, "description">): string {
  const parts: string[] = [rule.action];
  if (rule.direction === "inbound") parts.push("inbound");
  if (rule.protocol !== undefined) parts.push(rule.protocol);
  parts.push(formatDestination(rule.destination));
  if (rule.ports !== undefined) {
    parts.push(
      rule.ports.low === rule.ports.high
        ? `port ${rule.ports.low}`
        : `ports ${rule.ports.low}-${rule.ports.high}`,
    );
  }
  return parts.join(" ");
}

/** Where a rule sits: its index, the field path of the rules array, and whether the preset is `allow-all`. */
export interface RuleContext {
  readonly index: number;
  readonly rulesField: string;
  /**
   * False unless the preset is `allow-all`: then an allow rule's `"*"` matches globally reachable addresses only,
   * so the preset's protection of loopback, private, metadata... is lifted only by naming them.
   */
  readonly wildcardAllowsAll: boolean;
}

function widen(destination: Destination, action: PolicyAction, wildcardAllowsAll: boolean): Destination {
  if (destination.kind !== "any" || action !== "allow" || wildcardAllowsAll) return destination;
  return { kind: "any", publicOnly: true };
}

/** Validates one rule; throws {@link InvalidConfigError} naming the offending field. */
export function compileRule(input: unknown, context: RuleContext): CompiledRule {
  const { index, rulesField } = context;
  const field = `${rulesField}[${index}]`;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InvalidConfigError(field, "must be an object with action and destination");
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.has(key))
      throw new InvalidConfigError(
        `${field}.${key}`,
        "is not a rule field (action, direction, destination, protocol, port)",
      );
  }
  const action = oneOf(`${field}.action`, raw["action"], POLICY_ACTIONS);
  const direction =
    raw["direction"] === undefined
      ? "outbound"
      : oneOf(`${field}.direction`, raw["direction"], POLICY_DIRECTIONS);
  const protocol =
    raw["protocol"] === undefined ? undefined : oneOf(`${field}.protocol`, raw["protocol"], POLICY_PROTOCOLS);
  const destination = parseDestination(raw["destination"]);
  if (!destination.ok) throw new InvalidConfigError(`${field}.destination`, destination.message);
  let ports: PortRange | undefined;
  if (raw["port"] !== undefined) {
    const parsed = parsePortSpec(raw["port"]);
    if (!parsed.ok) throw new InvalidConfigError(`${field}.port`, parsed.message);
    ports = parsed.range;
  }
  const target = widen(destination.destination, action, context.wildcardAllowsAll);
  const rule = { index, field, action, direction, destination: target, protocol, ports };
  checkConsistency(field, rule);
  return { ...rule, description: describe(rule) };
}

/** The parts of a flow a rule looks at (address unmapped, names normalised). */
export interface RuleSubject {
  readonly direction: PolicyDirection;
  readonly protocol: PolicyProtocol;
  readonly address: IpAddress;
  readonly port: number | undefined;
  readonly names: readonly string[];
}

/** True when every condition of `rule` holds for the flow. */
export function ruleMatches(rule: CompiledRule, flow: RuleSubject): boolean {
  if (rule.direction !== flow.direction) return false;
  if (rule.protocol !== undefined && rule.protocol !== flow.protocol) return false;
  if (rule.ports !== undefined) {
    if (flow.port === undefined || flow.port < rule.ports.low || flow.port > rule.ports.high) return false;
  }
  return destinationMatches(rule.destination, flow.address, flow.names);
}
