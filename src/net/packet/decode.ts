/**
 * One-call decoding of a guest Ethernet frame down to its transport layer, for the frame dispatch loop.
 *
 * @packageDocumentation
 */
import { type ArpPacket, parseArp } from "./arp.js";
import { type EthernetFrame, EtherType, parseEthernet } from "./ethernet.js";
import { type Icmpv4Message, parseIcmpv4 } from "./icmpv4.js";
import { type Ipv4Packet, IpProtocol, parseIpv4 } from "./ipv4.js";
import { type ParseResult, parsed } from "./result.js";
import { type TcpSegment, parseTcp } from "./tcp.js";
import { type UdpDatagram, parseUdp } from "./udp.js";

/** The transport content of an IPv4 packet. */
export type Ipv4Transport =
  | { readonly kind: "tcp"; readonly tcp: TcpSegment }
  | { readonly kind: "udp"; readonly udp: UdpDatagram }
  | { readonly kind: "icmpv4"; readonly icmp: Icmpv4Message }
  /** A fragment: reported, not reassembled (the stack drops it). */
  | { readonly kind: "fragment" }
  /** Any other IP protocol number. */
  | { readonly kind: "other"; readonly protocol: number };

/** A decoded frame. */
export type DecodedFrame =
  | { readonly kind: "arp"; readonly ethernet: EthernetFrame; readonly arp: ArpPacket }
  | {
      readonly kind: "ipv4";
      readonly ethernet: EthernetFrame;
      readonly ip: Ipv4Packet;
      readonly transport: Ipv4Transport;
    }
  /** An EtherType this stack does not handle (IPv6, VLAN...): the caller drops it. */
  | { readonly kind: "other"; readonly ethernet: EthernetFrame };

function decodeTransport(ip: Ipv4Packet): ParseResult<Ipv4Transport> {
  if (ip.isFragment) return parsed({ kind: "fragment" });
  const pseudo = { source: ip.source, destination: ip.destination };
  switch (ip.protocol) {
    case IpProtocol.tcp: {
      const tcp = parseTcp(ip.payload, pseudo);
      return tcp.ok ? parsed({ kind: "tcp", tcp: tcp.value }) : tcp;
    }
    case IpProtocol.udp: {
      const udp = parseUdp(ip.payload, pseudo);
      return udp.ok ? parsed({ kind: "udp", udp: udp.value }) : udp;
    }
    case IpProtocol.icmp: {
      const icmp = parseIcmpv4(ip.payload);
      return icmp.ok ? parsed({ kind: "icmpv4", icmp: icmp.value }) : icmp;
    }
    default:
      return parsed({ kind: "other", protocol: ip.protocol });
  }
}

/**
 * Decodes an Ethernet frame: ARP, or IPv4 with its TCP/UDP/ICMP content (checksums verified at every layer).
 * Never throws; any malformation is a `ParseError`. Every view in the result aliases `frame`.
 */
export function decodeFrame(frame: Uint8Array): ParseResult<DecodedFrame> {
  const eth = parseEthernet(frame);
  if (!eth.ok) return eth;
  const ethernet = eth.value;
  if (ethernet.etherType === EtherType.arp) {
    const arp = parseArp(ethernet.payload);
    return arp.ok ? parsed({ kind: "arp", ethernet, arp: arp.value }) : arp;
  }
  if (ethernet.etherType !== EtherType.ipv4) return parsed({ kind: "other", ethernet });
  const ip = parseIpv4(ethernet.payload);
  if (!ip.ok) return ip;
  const transport = decodeTransport(ip.value);
  return transport.ok
    ? parsed({ kind: "ipv4", ethernet, ip: ip.value, transport: transport.value })
    : transport;
}
