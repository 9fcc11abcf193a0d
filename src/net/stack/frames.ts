/**
 * Frames to the guest, built in one buffer each: the 4-byte stream length prefix, Ethernet, IPv4 and the
 * transport header and payload, with every checksum. Built in place where the allocator says (the link's batch,
 * see `link/frame-batch.ts`): one payload copy per frame, no allocation.
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { writeU16, writeU32 } from "../packet/bytes.js";
import { internetChecksum, ipv4PseudoHeaderSum } from "../packet/checksum.js";
import { EtherType } from "../packet/ethernet.js";
import { IpProtocol } from "../packet/ipv4.js";
import { writeMac } from "../packet/mac.js";
import { buildTcpOptions } from "../packet/tcp-options.js";
import type { OutgoingSegment } from "../tcp/types.js";

/** Offset of the Ethernet header in a prefixed frame. */
const ETH = 4;
/** Offset of the IPv4 header. */
const IP = ETH + 14;
/** Offset of the transport header. */
const L4 = IP + 20;

/** Where a frame is built: room for `size` bytes (the link's batch, or a fresh buffer). */
export type FrameAllocator = (size: number) => Buffer;

/** The allocator of frames built outside a link's batch: a fresh buffer each. */
export const allocateFrame: FrameAllocator = (size) => Buffer.allocUnsafe(size);

/** Who a frame to the guest is from and to. */
export interface FrameAddressing {
  /** Destination then source MAC address, 12 bytes (see {@link macPair}). */
  readonly macs: Uint8Array;
  readonly source: number;
  readonly destination: number;
}

/** The two MAC addresses of an Ethernet header, parsed once: destination, then source. */
export function macPair(destinationMac: string, sourceMac: string): Uint8Array {
  const macs = new Uint8Array(12);
  writeMac(macs, 0, destinationMac);
  writeMac(macs, 6, sourceMac);
  return macs;
}

function ipv4Frame(
  addr: FrameAddressing,
  protocol: number,
  transportLength: number,
  alloc: FrameAllocator,
): Buffer {
  const totalLength = 20 + transportLength;
  if (totalLength > 0xffff) throw new PacketError(`IPv4 packet of ${totalLength} bytes`);
  const out = alloc(L4 + transportLength);
  out.writeUInt32BE(14 + totalLength, 0);
  out.set(addr.macs, ETH);
  writeU16(out, ETH + 12, EtherType.ipv4);
  out[IP] = 0x45;
  out[IP + 1] = 0;
  writeU16(out, IP + 2, totalLength);
  writeU32(out, IP + 4, 0x00004000); // identification 0, DF, offset 0
  out[IP + 8] = 64;
  out[IP + 9] = protocol;
  writeU16(out, IP + 10, 0);
  writeU32(out, IP + 12, addr.source);
  writeU32(out, IP + 16, addr.destination);
  writeU16(out, IP + 10, internetChecksum(out, 0, IP, L4));
  return out;
}

/** A TCP segment (from the machine's output) as a prefixed frame. */
export function tcpFrame(
  addr: FrameAddressing,
  ports: { readonly source: number; readonly destination: number },
  segment: OutgoingSegment,
  alloc: FrameAllocator = allocateFrame,
): Buffer {
  const options = segment.options === undefined ? undefined : buildTcpOptions(segment.options);
  const headerLength = 20 + (options?.length ?? 0);
  const length = headerLength + segment.payload.length;
  const out = ipv4Frame(addr, IpProtocol.tcp, length, alloc);
  writeU16(out, L4, ports.source);
  writeU16(out, L4 + 2, ports.destination);
  writeU32(out, L4 + 4, segment.seq);
  writeU32(out, L4 + 8, segment.ack);
  writeU16(out, L4 + 12, ((headerLength / 4) << 12) | segment.flags);
  writeU16(out, L4 + 14, segment.window);
  writeU32(out, L4 + 16, 0); // checksum, urgent pointer
  if (options !== undefined) out.set(options, L4 + 20);
  out.set(segment.payload, L4 + headerLength);
  const pseudo = ipv4PseudoHeaderSum(addr.source, addr.destination, IpProtocol.tcp, length);
  writeU16(out, L4 + 16, internetChecksum(out, pseudo, L4, L4 + length));
  return out;
}

/** A UDP datagram as a prefixed frame. */
export function udpFrame(
  addr: FrameAddressing,
  ports: { readonly source: number; readonly destination: number },
  payload: Uint8Array,
  alloc: FrameAllocator = allocateFrame,
): Buffer {
  const length = 8 + payload.length;
  const out = ipv4Frame(addr, IpProtocol.udp, length, alloc);
  writeU16(out, L4, ports.source);
  writeU16(out, L4 + 2, ports.destination);
  writeU16(out, L4 + 4, length);
  writeU16(out, L4 + 6, 0);
  out.set(payload, L4 + 8);
  const pseudo = ipv4PseudoHeaderSum(addr.source, addr.destination, IpProtocol.udp, length);
  const checksum = internetChecksum(out, pseudo, L4, L4 + length);
  writeU16(out, L4 + 6, checksum === 0 ? 0xffff : checksum);
  return out;
}

/** An ICMP message (already built, with its checksum) as a prefixed frame. */
export function icmpFrame(
  addr: FrameAddressing,
  message: Uint8Array,
  alloc: FrameAllocator = allocateFrame,
): Buffer {
  const out = ipv4Frame(addr, IpProtocol.icmp, message.length, alloc);
  out.set(message, L4);
  return out;
}

/** An Ethernet frame with any payload (ARP) as a prefixed frame. */
export function ethernetFrame(
  addr: Pick<FrameAddressing, "macs">,
  etherType: number,
  payload: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(ETH + 14 + payload.length);
  out.writeUInt32BE(14 + payload.length, 0);
  out.set(addr.macs, ETH);
  writeU16(out, ETH + 12, etherType);
  out.set(payload, ETH + 14);
  return out;
}
