/**
 * `NetworkPolicy.none() / publicOnly() / allowAll()`: the seed's preset factories, returning configs.
 *
 * @packageDocumentation
 */
import type { NetworkConfig } from "./types.js";

/** Factories of the preset network configurations. */
export const NetworkPolicy = Object.freeze({
  /** No traffic in or out: every flow is denied unless a rule allows it. */
  none(): NetworkConfig {
    return { policy: "none" };
  },
  /** The default: globally reachable addresses only (no loopback, private, link-local, metadata, ...). */
  publicOnly(): NetworkConfig {
    return { policy: "public-only" };
  },
  /** Everything, including the host's loopback and private networks. */
  allowAll(): NetworkConfig {
    return { policy: "allow-all" };
  },
});
