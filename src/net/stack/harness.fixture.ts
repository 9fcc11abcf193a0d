/**
 * Test harness of the stack: a context, TCP and UDP relays and the dispatcher wired to a recording "link", plus
 * builders for guest frames. No sockets are opened unless a test allows a flow.
 */
import { NameCache } from "../dns/name-cache.js";
import { DnsResolver } from "../dns/resolver.js";
import { parseIpv4 } from "../ip/ipv4.js";
import { buildEthernet, EtherType } from "../packet/ethernet.js";
import { buildIpv4, IpProtocol } from "../packet/ipv4.js";
import { buildTcp, TcpFlag } from "../packet/tcp.js";
import { buildUdp } from "../packet/udp.js";
import { type CompiledPolicy, compilePolicy } from "../policy/compile.js";
import type { NetworkConfig } from "../policy/types.js";
import { DEFAULT_LINK, resolveLink } from "./addresses.js";
import { StackContext } from "./context.js";
import { dispatchFrame } from "./dispatch.js";
import { connectOutbound } from "./outbound.js";
import { IGNORING_ENDPOINT, type TcpEndpoint, type TcpHandle } from "./tcp-endpoint.js";
import { TcpRelay } from "./tcp-relay.js";
import { UdpRelay } from "./udp-relay.js";

const link = resolveLink(DEFAULT_LINK);

/** An IPv4 address as a number (throws on bad text: test input). */
export function ip4(text: string): number {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad test address ${text}`);
  return value;
}

/** A guest Ethernet frame carrying `payload` as IPv4 `protocol` to `destination`. */
export function guestIpv4(destination: string, protocol: number, payload: Uint8Array): Uint8Array {
  return buildEthernet({
    destination: link.gatewayMac,
    source: link.guestMac,
    etherType: EtherType.ipv4,
    payload: buildIpv4({ source: link.guest, destination: ip4(destination), protocol, payload }),
  });
}

/** A guest TCP SYN frame. */
export function guestSyn(destination: string, port: number, sourcePort: number): Uint8Array {
  const tcp = buildTcp({
    source: link.guest,
    destination: ip4(destination),
    sourcePort,
    destinationPort: port,
    seq: 1000,
    ack: 0,
    flags: TcpFlag.syn,
    window: 65535,
    options: { mss: 1460, windowScale: 7 },
    payload: new Uint8Array(0),
  });
  return guestIpv4(destination, IpProtocol.tcp, tcp);
}

/** A guest TCP segment (ACK by default) on an established flow. */
export function guestTcp(
  destination: string,
  port: number,
  sourcePort: number,
  fields: { seq: number; ack: number; flags?: number; window?: number; payload?: Uint8Array },
): Uint8Array {
  const tcp = buildTcp({
    source: link.guest,
    destination: ip4(destination),
    sourcePort,
    destinationPort: port,
    seq: fields.seq,
    ack: fields.ack,
    flags: fields.flags ?? TcpFlag.ack,
    window: fields.window ?? 65535,
    payload: fields.payload ?? new Uint8Array(0),
  });
  return guestIpv4(destination, IpProtocol.tcp, tcp);
}

/** A guest UDP frame. */
export function guestUdp(destination: string, port: number, payload: Uint8Array): Uint8Array {
  const udp = buildUdp({
    source: link.guest,
    destination: ip4(destination),
    sourcePort: 40000,
    destinationPort: port,
    payload,
  });
  return guestIpv4(destination, IpProtocol.udp, udp);
}

/** A host side that never answers: the connection stays pending (no socket is opened). */
export const PENDING: TcpEndpoint = IGNORING_ENDPOINT;

/**
 * A stack context for `policy` on the default link whose resolver has no upstream servers (tests and benches
 * never resolve through it); frames to the guest go to `send`.
 */
export function offlineStackContext(
  policy: CompiledPolicy,
  send: (frame: Uint8Array) => void = () => undefined,
): StackContext {
  const names = new NameCache({ now: () => performance.now() });
  const resolver = new DnsResolver({
    servers: [],
    blockLists: { blockDomains: policy.blockDomains, blockDomainSuffixes: policy.blockDomainSuffixes },
    rebindProtection: policy.dnsRebindProtection,
    names,
  });
  return new StackContext({ link, policy, names, resolver, send });
}

/**
 * A stack whose frames to the guest are recorded (without their 4-byte stream prefix). TCP connections go
 * through the real decision (`connectOutbound`) unless `onConnect` supplies the host side: tests that allow a
 * flow must pass one, so no test opens a socket to a non-loopback address.
 */
export function stackHarness(
  network: NetworkConfig = {},
  onConnect?: (handle: TcpHandle) => TcpEndpoint,
  relay: { sendBudgetBytes?: number } = {},
) {
  const sent: Uint8Array[] = [];
  const policy = compilePolicy(network);
  const ctx = offlineStackContext(policy, (frame) => sent.push(frame.subarray(4)));
  const tcp = new TcpRelay(ctx, {
    ...relay,
    onConnect: (flow, remote, handle) =>
      onConnect?.(handle) ??
      connectOutbound(
        ctx,
        { connectTimeoutMs: 1000, readBuffer: Buffer.alloc(64 * 1024) },
        flow,
        remote,
        handle,
      ),
  });
  const udp = new UdpRelay(
    ctx,
    policy.tls?.blockQuic === true ? { blockedPorts: policy.tls.interceptedPorts } : {},
  );
  const handlers = { ctx, tcp, udp };
  return {
    ctx,
    tcp,
    udp,
    sent,
    link,
    feed: (frame: Uint8Array) => {
      dispatchFrame(handlers, frame);
    },
    close: () => {
      tcp.close();
      udp.close();
    },
  };
}
