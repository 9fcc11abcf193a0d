/**
 * What the protocol handlers of the stack share: the link plan, the policy, the names learned by the resolver,
 * and the way to the guest.
 *
 * @packageDocumentation
 */
import type { NameCache } from "../dns/name-cache.js";
import type { DnsResolver } from "../dns/resolver.js";
import { formatIpv4 } from "../ip/ipv4.js";
import { buildIcmpv4Unreachable } from "../packet/icmpv4.js";
import { decideFlow } from "../policy/evaluate.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { PolicyDecision, PolicyDirection, PolicyProtocol } from "../policy/types.js";
import type { ResolvedLink } from "./addresses.js";
import { type FrameAddressing, type FrameAllocator, allocateFrame, icmpFrame, macPair } from "./frames.js";

/** Counters of policy decisions and drops. */
export interface StackCounters {
  /** Frames from the guest that failed to parse (bad lengths, checksums, options...). */
  malformed: number;
  /** Well-formed frames the stack does not handle (IPv6, fragments, other protocols). */
  unsupported: number;
  /** Flows the policy denied. */
  denied: number;
  /** Flows refused for lack of room (maxConnections, UDP flow limit). */
  limited: number;
}

/** The shared state of one sandbox's stack. */
export class StackContext {
  readonly counters: StackCounters = { malformed: 0, unsupported: 0, denied: 0, limited: 0 };
  readonly link: ResolvedLink;
  readonly policy: CompiledPolicy;
  readonly names: NameCache;
  readonly resolver: DnsResolver;
  /** Room for a frame about to be sent: build frames here so {@link send} needs no copy. */
  readonly frame: FrameAllocator;
  readonly #send: (prefixedFrame: Buffer) => void;
  /** Guest MAC, then gateway MAC: the Ethernet addresses of every frame to the guest. */
  readonly #macsToGuest: Uint8Array;

  constructor(init: {
    link: ResolvedLink;
    policy: CompiledPolicy;
    names: NameCache;
    resolver: DnsResolver;
    send: (prefixedFrame: Buffer) => void;
    /** Where frames are built (default: a fresh buffer each). */
    frame?: FrameAllocator;
  }) {
    this.link = init.link;
    this.policy = init.policy;
    this.names = init.names;
    this.resolver = init.resolver;
    this.#send = init.send;
    this.frame = init.frame ?? allocateFrame;
    this.#macsToGuest = macPair(init.link.guestMac, init.link.gatewayMac);
  }

  /** Sends a prefixed frame (see `frames.ts`), preferably one built in {@link frame}, to the guest. */
  send(frame: Buffer): void {
    this.#send(frame);
  }

  /** Addressing of a packet from `source` to the guest. */
  toGuest(source: number): FrameAddressing {
    return {
      macs: this.#macsToGuest,
      source,
      destination: this.link.guest,
    };
  }

  /** True for the addresses our stack owns (gateway, resolver): nothing is re-originated to them. */
  isLocal(address: number): boolean {
    return address === this.link.gateway || address === this.link.dns;
  }

  /**
   * The policy decision for a flow, with the names the resolver learned for the address and `extraNames` (the
   * TLS server name) first.
   */
  decide(
    direction: PolicyDirection,
    protocol: PolicyProtocol,
    address: string,
    port?: number,
    extraNames: readonly string[] = [],
  ): PolicyDecision {
    const names = this.namesFor(direction, address, extraNames);
    const decision = decideFlow(this.policy, {
      direction,
      protocol,
      address,
      ...(port === undefined ? {} : { port }),
      ...(names.length === 0 ? {} : { names }),
    });
    if (decision.action === "deny") this.counters.denied++;
    return decision;
  }

  /** `extraNames`, then the names the resolver learned for `address` (outbound only), without repeats. */
  namesFor(direction: PolicyDirection, address: string, extraNames: readonly string[] = []): string[] {
    const learned = direction === "outbound" ? this.names.namesOf(address) : [];
    return [...new Set([...extraNames, ...learned])];
  }

  /** Answers `ipPacket` (a guest IPv4 packet, header first) with ICMP destination unreachable `code`. */
  unreachable(ipPacket: Uint8Array, code: number): void {
    const message = buildIcmpv4Unreachable({ code, original: ipPacket });
    this.send(icmpFrame(this.toGuest(this.link.gateway), message, this.frame));
  }
}

/** Text form of a numeric IPv4 address. */
export const ipText = formatIpv4;
