/**
 * Ethernet II frames as carried by QEMU `-netdev stream` (no preamble, no FCS, no virtio-net header).
 *
 * @packageDocumentation
 */
import { readU16, writeU16 } from "./bytes.js";
import { formatMac, writeMac } from "./mac.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** EtherType values this stack recognises. */
export const EtherType = Object.freeze({
  ipv4: 0x0800,
  arp: 0x0806,
  vlan: 0x8100,
  ipv6: 0x86dd,
} as const);

/** Length of the Ethernet II header. */
export const ETHERNET_HEADER_LENGTH = 14;

/** A parsed Ethernet II frame. `payload` is a view into the input (not a copy). */
export interface EthernetFrame {
  readonly destination: string;
  readonly source: string;
  readonly etherType: number;
  readonly payload: Uint8Array;
}

/** What {@link buildEthernet} needs. */
export interface EthernetFrameInput {
  readonly destination: string;
  readonly source: string;
  readonly etherType: number;
  readonly payload: Uint8Array;
}

/**
 * Parses an Ethernet II frame. IEEE 802.3 length frames (type field < 0x0600) are `unsupported`.
 * The payload may include trailing padding (minimum frame size); upper layers trim by their own length fields.
 */
export function parseEthernet(bytes: Uint8Array): ParseResult<EthernetFrame> {
  if (bytes.length < ETHERNET_HEADER_LENGTH) {
    return parseError("ethernet", "truncated", `frame of ${bytes.length} bytes is shorter than its header`);
  }
  const etherType = readU16(bytes, 12);
  if (etherType < 0x0600) return parseError("ethernet", "unsupported", "IEEE 802.3 length frame");
  return parsed({
    destination: formatMac(bytes, 0),
    source: formatMac(bytes, 6),
    etherType,
    payload: bytes.subarray(ETHERNET_HEADER_LENGTH),
  });
}

/** Builds an Ethernet II frame. Throws `PacketError` on a malformed MAC. */
export function buildEthernet(frame: EthernetFrameInput): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_LENGTH + frame.payload.length);
  writeMac(out, 0, frame.destination);
  writeMac(out, 6, frame.source);
  writeU16(out, 12, frame.etherType);
  out.set(frame.payload, ETHERNET_HEADER_LENGTH);
  return out;
}
