/**
 * Per-sandbox network metrics: traffic on the link (bytes and packets into and out of the guest) and the
 * stack's decision and drop counters.
 *
 * @packageDocumentation
 */
import type { DnsCounters } from "../dns/resolver.js";
import type { LinkCounters } from "../link/stream-link.js";
import type { StackCounters } from "./context.js";
import { type TlsCounters, newTlsCounters } from "./tls-counters.js";

/** A snapshot of one sandbox's network counters (TLS interception's included). */
export interface NetworkMetrics extends Readonly<TlsCounters> {
  /** Ethernet bytes delivered to the guest (frames without the stream prefix). */
  readonly bytesIn: number;
  /** Frames delivered to the guest. */
  readonly packetsIn: number;
  /** Ethernet bytes the guest sent. */
  readonly bytesOut: number;
  /** Frames the guest sent. */
  readonly packetsOut: number;
  /** Frames to the guest dropped because QEMU was not reading. */
  readonly droppedIn: number;
  /** Guest frames that failed validation (length, checksum, options). */
  readonly malformed: number;
  /** Guest frames of a kind not handled (IPv6, fragments, other protocols). */
  readonly unsupported: number;
  /** Flows denied by the policy. */
  readonly denied: number;
  /** Flows refused for lack of room (maxConnections, flow limits). */
  readonly limited: number;
  /** TCP connections held now. */
  readonly tcpConnections: number;
  /** UDP flows held now. */
  readonly udpFlows: number;
  readonly dnsQueries: number;
  readonly dnsBlocked: number;
  readonly dnsRebindDropped: number;
  readonly dnsFailures: number;
}

/** Builds a snapshot; absent parts count zero (a sandbox without network). */
export function collectMetrics(parts: {
  link?: LinkCounters;
  stack?: StackCounters;
  dns?: DnsCounters;
  tcp?: { readonly size: number };
  udp?: { readonly size: number };
  tls?: TlsCounters;
}): NetworkMetrics {
  return {
    ...(parts.tls ?? newTlsCounters()),
    bytesIn: parts.link?.bytesToGuest ?? 0,
    packetsIn: parts.link?.framesToGuest ?? 0,
    bytesOut: parts.link?.bytesFromGuest ?? 0,
    packetsOut: parts.link?.framesFromGuest ?? 0,
    droppedIn: parts.link?.framesDropped ?? 0,
    malformed: parts.stack?.malformed ?? 0,
    unsupported: parts.stack?.unsupported ?? 0,
    denied: parts.stack?.denied ?? 0,
    limited: parts.stack?.limited ?? 0,
    tcpConnections: parts.tcp?.size ?? 0,
    udpFlows: parts.udp?.size ?? 0,
    dnsQueries: parts.dns?.queries ?? 0,
    dnsBlocked: parts.dns?.blocked ?? 0,
    dnsRebindDropped: parts.dns?.rebindDropped ?? 0,
    dnsFailures: parts.dns?.failures ?? 0,
  };
}
