/**
 * `decideFlow`: the pure policy decision for one flow. Order: rules (first match), then the preset, then the
 * default action. See README.md in this directory.
 *
 * @packageDocumentation
 */
import { type IpAddress, formatIpAddress, parseNormalizedIpAddress } from "../ip/address.js";
import { classifyAddress } from "../ip/special.js";
import type { CompiledPolicy } from "./compile.js";
import { normalizeDomainName } from "./domain.js";
import { ruleMatches } from "./rule.js";
import { POLICY_DIRECTIONS, POLICY_PROTOCOLS, type FlowRequest, type PolicyDecision } from "./types.js";

function deny(reason: string): PolicyDecision {
  return { action: "deny", reason };
}

function invalidFlow(flow: FlowRequest): string | undefined {
  if (!(POLICY_DIRECTIONS as readonly string[]).includes(flow.direction))
    return `invalid direction ${JSON.stringify(flow.direction)}`;
  if (!(POLICY_PROTOCOLS as readonly string[]).includes(flow.protocol))
    return `invalid protocol ${JSON.stringify(flow.protocol)}`;
  const port = flow.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    return `invalid port ${String(port)}`;
  return undefined;
}

function fallback(policy: CompiledPolicy, flow: FlowRequest, address: IpAddress): PolicyDecision {
  const shown = formatIpAddress(address);
  if (policy.preset === "none")
    return deny(`policy "none" denies all traffic (${flow.direction} to ${shown})`);
  if (flow.direction === "inbound") {
    return { action: "allow", reason: `inbound to a published port is allowed by policy "${policy.preset}"` };
  }
  if (policy.preset === "public-only") {
    const found = classifyAddress(address);
    if (!found.global) return deny(`policy "public-only" denies ${shown}: ${found.description}`);
  }
  return {
    action: policy.defaultAction,
    reason: `no rule matched ${shown}; default action ${policy.defaultAction}`,
  };
}

/**
 * Decides a flow. Never throws: a flow with an unparsable address or invalid fields is denied with a reason.
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
export function decideFlow(policy: CompiledPolicy, flow: FlowRequest): PolicyDecision {
  const problem = invalidFlow(flow);
  if (problem !== undefined) return deny(problem);
  const address = parseNormalizedIpAddress(flow.address);
  if (address === undefined) return deny(`invalid address ${JSON.stringify(flow.address)}`);
  const subject = {
    direction: flow.direction,
    protocol: flow.protocol,
    address,
    port: flow.port,
    names: (flow.names ?? []).map(normalizeDomainName),
  };
  const rule = policy.rules.find((r) => ruleMatches(r, subject));
  if (rule !== undefined) {
    return { action: rule.action, reason: `${rule.field} (${rule.description})`, rule: rule.index };
  }
  return fallback(policy, flow, address);
}
