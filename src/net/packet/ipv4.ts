/**
 * IPv4 headers (RFC 791): parse with every length and checksum check, build with a computed checksum.
 * Fragments are reported (`isFragment`), never reassembled.
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { isUint, readU16, readU32, writeU16, writeU32 } from "./bytes.js";
import { internetChecksum } from "./checksum.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** IP protocol numbers this stack handles. */
export const IpProtocol = Object.freeze({ icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const);

/** Length of an IPv4 header without options. */
export const IPV4_MIN_HEADER_LENGTH = 20;

/** A parsed IPv4 packet. `options` and `payload` are views into the input. */
export interface Ipv4Packet {
  /** Header length in bytes (20..60). */
  readonly headerLength: number;
  readonly dscp: number;
  readonly ecn: number;
  /** The total-length field (header + payload); bytes after it (link padding) are not part of the packet. */
  readonly totalLength: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** Fragment offset in bytes. */
  readonly fragmentOffset: number;
  /** True when this packet is a fragment (MF set or a non-zero offset): the stack drops these. */
  readonly isFragment: boolean;
  readonly ttl: number;
  readonly protocol: number;
  readonly source: number;
  readonly destination: number;
  /** Raw option bytes (`headerLength - 20` bytes). */
  readonly options: Uint8Array;
  readonly payload: Uint8Array;
}

/** What {@link buildIpv4} needs; everything but addresses, protocol and payload has a default. */
export interface Ipv4PacketInput {
  readonly source: number;
  readonly destination: number;
  readonly protocol: number;
  readonly payload: Uint8Array;
  /** Default 64. */
  readonly ttl?: number;
  /** Default 0 (fine with DF set, RFC 6864). */
  readonly identification?: number;
  /** Default true. */
  readonly dontFragment?: boolean;
  readonly dscp?: number;
  readonly ecn?: number;
}

/** Options of {@link parseIpv4}. */
export interface ParseIpv4Options {
  /** Verify the header checksum (default true). */
  readonly verifyChecksum?: boolean;
}

/** Parses an IPv4 packet (the Ethernet payload, possibly followed by link padding). */
export function parseIpv4(bytes: Uint8Array, options: ParseIpv4Options = {}): ParseResult<Ipv4Packet> {
  if (bytes.length < IPV4_MIN_HEADER_LENGTH) return parseError("ipv4", "truncated", `${bytes.length} bytes`);
  const first = bytes[0] ?? 0;
  if (first >> 4 !== 4) return parseError("ipv4", "bad-field", `version ${first >> 4}`);
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH)
    return parseError("ipv4", "bad-length", `IHL ${headerLength / 4}`);
  if (headerLength > bytes.length) return parseError("ipv4", "truncated", `header of ${headerLength} bytes`);
  const totalLength = readU16(bytes, 2);
  if (totalLength < headerLength) return parseError("ipv4", "bad-length", `total length ${totalLength}`);
  if (totalLength > bytes.length) {
    return parseError("ipv4", "truncated", `total length ${totalLength} > ${bytes.length} bytes`);
  }
  if ((options.verifyChecksum ?? true) && internetChecksum(bytes.subarray(0, headerLength)) !== 0) {
    return parseError("ipv4", "bad-checksum", "header checksum mismatch");
  }
  const flagsAndOffset = readU16(bytes, 6);
  if (flagsAndOffset & 0x8000) return parseError("ipv4", "bad-field", "reserved flag set");
  const moreFragments = (flagsAndOffset & 0x2000) !== 0;
  const fragmentOffset = (flagsAndOffset & 0x1fff) * 8;
  const tos = bytes[1] ?? 0;
  return parsed({
    headerLength,
    dscp: tos >> 2,
    ecn: tos & 0x03,
    totalLength,
    identification: readU16(bytes, 4),
    dontFragment: (flagsAndOffset & 0x4000) !== 0,
    moreFragments,
    fragmentOffset,
    isFragment: moreFragments || fragmentOffset !== 0,
    ttl: bytes[8] ?? 0,
    protocol: bytes[9] ?? 0,
    source: readU32(bytes, 12),
    destination: readU32(bytes, 16),
    options: bytes.subarray(IPV4_MIN_HEADER_LENGTH, headerLength),
    payload: bytes.subarray(headerLength, totalLength),
  });
}

function check(name: string, value: number, max: number): void {
  if (!isUint(value, max)) throw new PacketError(`IPv4 ${name} ${value} out of range 0..${max}`);
}

/** Builds an IPv4 packet without options, with its header checksum. Throws `PacketError` on bad fields. */
export function buildIpv4(packet: Ipv4PacketInput): Uint8Array {
  const ttl = packet.ttl ?? 64;
  const identification = packet.identification ?? 0;
  const dscp = packet.dscp ?? 0;
  const ecn = packet.ecn ?? 0;
  const totalLength = IPV4_MIN_HEADER_LENGTH + packet.payload.length;
  check("total length", totalLength, 0xffff);
  check("source", packet.source, 0xffffffff);
  check("destination", packet.destination, 0xffffffff);
  check("protocol", packet.protocol, 0xff);
  check("ttl", ttl, 0xff);
  check("identification", identification, 0xffff);
  check("dscp", dscp, 0x3f);
  check("ecn", ecn, 3);
  const out = new Uint8Array(totalLength);
  out[0] = 0x45;
  out[1] = (dscp << 2) | ecn;
  writeU16(out, 2, totalLength);
  writeU16(out, 4, identification);
  writeU16(out, 6, (packet.dontFragment ?? true) ? 0x4000 : 0);
  out[8] = ttl;
  out[9] = packet.protocol;
  writeU32(out, 12, packet.source);
  writeU32(out, 16, packet.destination);
  writeU16(out, 10, internetChecksum(out.subarray(0, IPV4_MIN_HEADER_LENGTH)));
  out.set(packet.payload, IPV4_MIN_HEADER_LENGTH);
  return out;
}
