/**
 * The `network` configuration of a sandbox (the seed's `NetworkConfig` / `PolicyRule` / `TlsConfig`), the
 * flow a decision is asked for, and the decision. Semantics: see README.md in this directory.
 *
 * @packageDocumentation
 */

/** Base policy presets. */
export const POLICY_PRESETS = ["public-only", "allow-all", "none"] as const;
/** A base policy preset: `public-only` (default) allows globally reachable addresses only. */
export type PolicyPreset = (typeof POLICY_PRESETS)[number];

/** Rule and default actions. */
export const POLICY_ACTIONS = ["allow", "deny"] as const;
/** What to do with a flow. */
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** Flow directions. */
export const POLICY_DIRECTIONS = ["outbound", "inbound"] as const;
/** `outbound`: the guest opens the flow; `inbound`: a host client connects to a published port. */
export type PolicyDirection = (typeof POLICY_DIRECTIONS)[number];

/** Protocols a rule can name. */
export const POLICY_PROTOCOLS = ["tcp", "udp", "icmpv4", "icmpv6"] as const;
/** A transport protocol. */
export type PolicyProtocol = (typeof POLICY_PROTOCOLS)[number];

/** Named address groups usable as a rule destination. */
export const ADDRESS_GROUPS = ["loopback", "private", "link-local", "metadata", "multicast"] as const;
/** A named address group. */
export type AddressGroup = (typeof ADDRESS_GROUPS)[number];

/** One ordered policy rule; the first rule matching a flow decides it. */
export interface PolicyRule {
  readonly action: PolicyAction;
  /** Default `outbound`. */
  readonly direction?: PolicyDirection;
  /**
   * `"*"`, a CIDR or bare address (v4 or v6), an exact domain (`"api.example.com"`), a domain suffix
   * (`".example.com"`: the domain and all its subdomains) or an {@link AddressGroup}.
   */
  readonly destination: string;
  /** Default: any protocol. */
  readonly protocol?: PolicyProtocol;
  /** `"443"` or `"8000-9000"` (inclusive); only TCP and UDP flows have ports. */
  readonly port?: string;
}

/** TLS interception settings (validated by `net/tls/config.ts`, enforced by the stack's TLS interception). */
export interface TlsConfig {
  /** Hosts never intercepted (`*.suffix` wildcards). */
  readonly bypass?: readonly string[];
  /** Verify upstream certificates (default true). */
  readonly verifyUpstream?: boolean;
  /** Ports whose TLS is intercepted (default [443]). */
  readonly interceptedPorts?: readonly number[];
  /** Drop UDP to intercepted ports (QUIC) (default false). */
  readonly blockQuic?: boolean;
  /** PEM path of a CA certificate to sign leaf certificates with. */
  readonly caCert?: string;
  /** PEM path of that CA's private key. */
  readonly caKey?: string;
  /** PEM paths of extra CAs trusted for upstream certificates (besides the host's store). */
  readonly upstreamCaCert?: string | readonly string[];
}

/** The `network` field of a sandbox configuration. */
export interface NetworkConfig {
  /** Base policy (default `public-only`). */
  readonly policy?: PolicyPreset;
  /** Ordered rules, evaluated before the base policy; first match wins. */
  readonly rules?: readonly PolicyRule[];
  /** Outbound action for flows no rule matched and the base policy allows (default `allow`). */
  readonly defaultAction?: PolicyAction;
  /** Names the sandbox's DNS resolver refuses to resolve (exact match). */
  readonly blockDomains?: readonly string[];
  /** Domain suffixes the resolver refuses (the domain itself and every subdomain). */
  readonly blockDomainSuffixes?: readonly string[];
  /** Drop DNS answers that point at non-public addresses (default true). */
  readonly dnsRebindProtection?: boolean;
  /** Concurrent guest connections (default 256). */
  readonly maxConnections?: number;
  /** TLS interception settings. */
  readonly tls?: TlsConfig;
}

/** The flow a decision is asked for. */
export interface FlowRequest {
  readonly direction: PolicyDirection;
  readonly protocol: PolicyProtocol;
  /** Outbound: the destination the guest dialled. Inbound: the host-side peer address. */
  readonly address: string;
  /** Outbound: destination port. Inbound: the guest port being published. Absent for ICMP. */
  readonly port?: number;
  /** Domain names the sandbox's own DNS answered with `address` (unexpired); domain rules match these only. */
  readonly names?: readonly string[];
}

/** The verdict on a flow. */
export interface PolicyDecision {
  readonly action: PolicyAction;
  /** Why, for logs and for the guest-visible denial. */
  readonly reason: string;
  /** Index in `rules` of the deciding rule, when a rule decided. */
  readonly rule?: number;
}
