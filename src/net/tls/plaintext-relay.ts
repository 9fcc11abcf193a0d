/**
 * The contract between the network stack and whatever inspects a connection's plaintext (the secrets guard).
 * The stack owns the sockets: it terminates the guest's TLS on intercepted ports (or, for plain TCP the relay
 * asked for, reads the guest's bytes directly), opens the upstream side, and hands every plaintext byte the
 * guest sends to the flow's {@link RelaySession} before it goes upstream. The relay never touches a socket; the
 * stack never parses HTTP.
 *
 * @packageDocumentation
 */

/** One connection whose plaintext the host sees. */
export interface RelayFlow {
  /**
   * The name the guest asked for: the TLS SNI for intercepted TLS; for plain TCP the first name the resolver
   * learned for the address, else the address itself.
   */
  readonly host: string;
  /** Every name known for the destination (the SNI first), lower case, without a trailing dot. */
  readonly names: readonly string[];
  /** The destination address as text. */
  readonly address: string;
  readonly port: number;
  /** The guest's bytes were inside TLS and the upstream side is TLS too. */
  readonly tls: boolean;
  /** The upstream certificate was verified for {@link RelayFlow.host} (false when not `tls` or not verified). */
  readonly upstreamVerified: boolean;
  /** The protocol agreed by ALPN with the guest (`"h2"`, `"http/1.1"`), or undefined. */
  readonly alpn: string | undefined;
}

/** What happens to bytes handed to a {@link RelaySession}. */
export type RelayVerdict =
  /** Send these bytes on, in order (possibly none yet: the session holds back a partial match). */
  | { readonly forward: readonly Uint8Array[] }
  /**
   * Refuse the connection: the stack resets both sides at once and sends nothing more upstream. `reason` is
   * for logs and never contains a secret value.
   */
  | { readonly block: string };

/** The relay's view of one connection. Calls arrive in byte order; none after {@link RelaySession.close}. */
export interface RelaySession {
  /** Plaintext from the guest, bound upstream. */
  fromGuest(chunk: Uint8Array): RelayVerdict;
  /** The guest finished sending: whatever is still held back. */
  endFromGuest(): RelayVerdict;
  /**
   * Plaintext from upstream, bound for the guest (optional: without it, bytes pass untouched). Lets a session
   * keep protocol state consistent when it changed lengths (e.g. HTTP/2 flow-control credit).
   */
  fromUpstream?(chunk: Uint8Array): RelayVerdict;
  /** The connection is gone (either side, any reason). */
  close(): void;
}

/** Something that inspects plaintext: given to `NetworkStack.start({ relay })`. */
export interface PlaintextRelay {
  /**
   * Whether plain TCP (not intercepted TLS) to this destination is handed to the relay too. Asked once per
   * allowed connection; a relay that only cares about TLS answers false.
   */
  wantsPlain(flow: Pick<RelayFlow, "address" | "port" | "names">): boolean;
  /** A new connection: its session, or undefined to pass the bytes untouched. */
  open(flow: RelayFlow): RelaySession | undefined;
}
