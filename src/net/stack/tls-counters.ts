/**
 * Counters of TLS interception and plaintext relaying (part of the stack's metrics).
 *
 * @packageDocumentation
 */

/** What the interception decided, connection by connection. */
export interface TlsCounters {
  /** TLS connections terminated with a minted leaf and re-originated upstream. */
  tlsIntercepted: number;
  /** TLS connections spliced untouched (`network.tls.bypass`). */
  tlsBypassed: number;
  /** Upstream certificates that failed verification: the guest was refused. */
  tlsUpstreamVerifyFailed: number;
  /** Connections the policy denied on their TLS server name. */
  tlsSniDenied: number;
  /** Guest or upstream TLS handshakes that failed or timed out (other than verification). */
  tlsHandshakeFailed: number;
  /** Connections to an intercepted port that did not start with a ClientHello (relayed as plain TCP). */
  tlsNotTls: number;
  /** Plain TCP connections handed to the plaintext relay. */
  plainRelayed: number;
  /** Connections the plaintext relay blocked. */
  relayBlocked: number;
  /** UDP datagrams to an intercepted port dropped by `blockQuic` (first datagram of each attempt). */
  quicBlocked: number;
}

/** All zero. */
export function newTlsCounters(): TlsCounters {
  return {
    tlsIntercepted: 0,
    tlsBypassed: 0,
    tlsUpstreamVerifyFailed: 0,
    tlsSniDenied: 0,
    tlsHandshakeFailed: 0,
    tlsNotTls: 0,
    plainRelayed: 0,
    relayBlocked: 0,
    quicBlocked: 0,
  };
}
