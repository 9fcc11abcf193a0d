/**
 * Networking: the pure core (packet codecs, the network policy, the guest-facing TCP machine) and the runtime
 * that wires it to QEMU's `-netdev stream` socket and to host sockets ({@link NetworkStack}).
 *
 * @packageDocumentation
 */
export {
  type IpAddress,
  type Ipv4Address,
  type Ipv6Address,
  formatIpAddress,
  parseIpAddress,
  parseNormalizedIpAddress,
  unmapIpAddress,
} from "./ip/address.js";
export { type Cidr, type CidrParseResult, cidrContains, formatCidr, parseCidr } from "./ip/cidr.js";
export { formatIpv4, parseIpv4 } from "./ip/ipv4.js";
export { formatIpv6, parseIpv6 } from "./ip/ipv6.js";
export { type AddressClass, classifyAddress, isPublicAddress } from "./ip/special.js";

export { ARP_LENGTH, ArpOperation, type ArpPacket, arpReplyFor, buildArp, parseArp } from "./packet/arp.js";
export { finishChecksum, internetChecksum, ipv4PseudoHeaderSum, sumWords } from "./packet/checksum.js";
export { type DecodedFrame, type Ipv4Transport, decodeFrame } from "./packet/decode.js";
export {
  ETHERNET_HEADER_LENGTH,
  EtherType,
  type EthernetFrame,
  type EthernetFrameInput,
  buildEthernet,
  parseEthernet,
} from "./packet/ethernet.js";
export {
  Icmpv4Type,
  type Icmpv4Echo,
  type Icmpv4Message,
  type Icmpv4Other,
  type Icmpv4Unreachable,
  type Icmpv4UnreachableInput,
  UnreachableCode,
  buildIcmpv4Echo,
  buildIcmpv4Unreachable,
  parseIcmpv4,
} from "./packet/icmpv4.js";
export {
  IpProtocol,
  type Ipv4Packet,
  type Ipv4PacketInput,
  buildIpv4,
  parseIpv4 as parseIpv4Packet,
} from "./packet/ipv4.js";
export { BROADCAST_MAC, formatMac, isMac } from "./packet/mac.js";
export {
  type PacketLayer,
  type ParseError,
  type ParseErrorReason,
  type ParseResult,
  type Parsed,
  toPacketError,
} from "./packet/result.js";
export { TcpFlag, type TcpSegment, type TcpSegmentInput, buildTcp, parseTcp } from "./packet/tcp.js";
export {
  MAX_WINDOW_SCALE,
  type SackBlock,
  type TcpOptions,
  type TcpOptionsInput,
  type TcpTimestamps,
} from "./packet/tcp-options.js";
export {
  type Ipv4PseudoHeader,
  type UdpDatagram,
  type UdpDatagramInput,
  buildUdp,
  parseUdp,
} from "./packet/udp.js";

export {
  type CompiledPolicy,
  type CompilePolicyOptions,
  DEFAULT_MAX_CONNECTIONS,
  compilePolicy,
} from "./policy/compile.js";
export { type DomainBlockLists, isDomainBlocked, normalizeDomainName } from "./policy/domain.js";
export { decideFlow } from "./policy/evaluate.js";
export { NetworkPolicy } from "./policy/presets.js";
export type {
  AddressGroup,
  FlowRequest,
  NetworkConfig,
  PolicyAction,
  PolicyDecision,
  PolicyDirection,
  PolicyPreset,
  PolicyProtocol,
  PolicyRule,
  TlsConfig,
} from "./policy/types.js";

export { TcpConnection, type TcpConnectionInit } from "./tcp/connection.js";
export { randomIsn } from "./tcp/isn.js";
export { TcpConnectionTable, type TcpTableOptions, flowKey } from "./tcp/table.js";
export {
  DEFAULT_TCP_OPTIONS,
  type IncomingSegment,
  type OutgoingSegment,
  type TcpClock,
  type TcpCloseReason,
  type TcpConnectionOptions,
  type TcpEvent,
  type TcpFlowId,
  type TcpOutput,
  type TcpState,
  type TcpWriteOutput,
} from "./tcp/types.js";

export {
  NetworkStack,
  type NetworkStackOptions,
  type TlsInterceptionOptions,
  type VmNic,
} from "./stack/network-stack.js";
export type { TlsCounters } from "./stack/tls-counters.js";
export {
  type CompiledTls,
  DEFAULT_INTERCEPTED_PORTS,
  compileTls,
  interceptionEnabled,
  isBypassed,
} from "./tls/config.js";
export { type ClientHello, type ClientHelloResult, parseClientHello } from "./tls/client-hello.js";
export { type CaMaterial, installationCa, userCa } from "./tls/ca.js";
export { LeafMinter, type LeafMinterOptions } from "./tls/leaf-minter.js";
export type { PlaintextRelay, RelayFlow, RelaySession, RelayVerdict } from "./tls/plaintext-relay.js";
export type { NetworkMetrics } from "./stack/metrics.js";
export { DEFAULT_LINK, DEFAULT_MTU, type VirtualLink } from "./stack/addresses.js";
export { type PortMapping, type PortsConfig, parsePorts } from "./ports/config.js";
export { type DnsServer, parseDnsServer, parseDnsServers } from "./dns/servers.js";
