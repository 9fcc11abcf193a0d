/**
 * ARP for IPv4 over Ethernet (RFC 826): requests and replies.
 *
 * @packageDocumentation
 */
import { readU16, readU32, writeU16, writeU32 } from "./bytes.js";
import { formatMac, writeMac } from "./mac.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** ARP operation codes. */
export const ArpOperation = Object.freeze({ request: 1, reply: 2 } as const);

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LENGTH = 28;

/** A parsed Ethernet/IPv4 ARP packet (IPv4 addresses as unsigned 32-bit numbers). */
export interface ArpPacket {
  readonly operation: 1 | 2;
  readonly senderMac: string;
  readonly senderIp: number;
  readonly targetMac: string;
  readonly targetIp: number;
}

/** Parses an ARP packet (the Ethernet payload; trailing padding is ignored). Only Ethernet/IPv4 is accepted. */
export function parseArp(bytes: Uint8Array): ParseResult<ArpPacket> {
  if (bytes.length < ARP_LENGTH)
    return parseError("arp", "truncated", `${bytes.length} bytes, need ${ARP_LENGTH}`);
  const hardwareType = readU16(bytes, 0);
  const protocolType = readU16(bytes, 2);
  if (hardwareType !== 1 || protocolType !== 0x0800 || bytes[4] !== 6 || bytes[5] !== 4) {
    return parseError(
      "arp",
      "unsupported",
      `hardware ${hardwareType}, protocol 0x${protocolType.toString(16)}`,
    );
  }
  const operation = readU16(bytes, 6);
  if (operation !== 1 && operation !== 2) return parseError("arp", "bad-field", `operation ${operation}`);
  return parsed({
    operation,
    senderMac: formatMac(bytes, 8),
    senderIp: readU32(bytes, 14),
    targetMac: formatMac(bytes, 18),
    targetIp: readU32(bytes, 24),
  });
}

/** Builds an Ethernet/IPv4 ARP packet (the Ethernet payload). Throws `PacketError` on a malformed MAC. */
export function buildArp(packet: ArpPacket): Uint8Array {
  const out = new Uint8Array(ARP_LENGTH);
  writeU16(out, 0, 1);
  writeU16(out, 2, 0x0800);
  out[4] = 6;
  out[5] = 4;
  writeU16(out, 6, packet.operation);
  writeMac(out, 8, packet.senderMac);
  writeU32(out, 14, packet.senderIp);
  writeMac(out, 18, packet.targetMac);
  writeU32(out, 24, packet.targetIp);
  return out;
}

/** The reply to `request` announcing that `ownMac` has `request.targetIp`. */
export function arpReplyFor(request: ArpPacket, ownMac: string): ArpPacket {
  return {
    operation: ArpOperation.reply,
    senderMac: ownMac,
    senderIp: request.targetIp,
    targetMac: request.senderMac,
    targetIp: request.senderIp,
  };
}
