/**
 * UDP over IPv4 (RFC 768): length checks and the pseudo-header checksum (zero means "no checksum").
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { isUint, readU16, writeU16 } from "./bytes.js";
import { finishChecksum, ipv4PseudoHeaderSum, sumWords } from "./checksum.js";
import { IpProtocol } from "./ipv4.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** Length of the UDP header. */
export const UDP_HEADER_LENGTH = 8;

/** The IPv4 addresses a UDP or TCP checksum covers. */
export interface Ipv4PseudoHeader {
  readonly source: number;
  readonly destination: number;
}

/** A parsed UDP datagram. `payload` is a view into the input. */
export interface UdpDatagram {
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** False when the sender sent no checksum (field zero). */
  readonly hasChecksum: boolean;
  readonly payload: Uint8Array;
}

/** What {@link buildUdp} needs. */
export interface UdpDatagramInput extends Ipv4PseudoHeader {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

/**
 * Parses a UDP datagram (the IPv4 payload) and verifies its checksum against `pseudo` unless the checksum
 * field is zero. The length field must cover the header and fit the bytes given; bytes after it are ignored.
 */
export function parseUdp(bytes: Uint8Array, pseudo: Ipv4PseudoHeader): ParseResult<UdpDatagram> {
  if (bytes.length < UDP_HEADER_LENGTH) return parseError("udp", "truncated", `${bytes.length} bytes`);
  const length = readU16(bytes, 4);
  if (length < UDP_HEADER_LENGTH) return parseError("udp", "bad-length", `length field ${length}`);
  if (length > bytes.length)
    return parseError("udp", "truncated", `length field ${length} > ${bytes.length} bytes`);
  const datagram = bytes.subarray(0, length);
  const hasChecksum = readU16(bytes, 6) !== 0;
  if (hasChecksum) {
    const sum = sumWords(
      datagram,
      ipv4PseudoHeaderSum(pseudo.source, pseudo.destination, IpProtocol.udp, length),
    );
    if (finishChecksum(sum) !== 0) return parseError("udp", "bad-checksum", "checksum mismatch");
  }
  return parsed({
    sourcePort: readU16(bytes, 0),
    destinationPort: readU16(bytes, 2),
    hasChecksum,
    payload: datagram.subarray(UDP_HEADER_LENGTH),
  });
}

/** Builds a UDP datagram with its checksum (0 is sent as 0xffff). Throws `PacketError` on bad fields. */
export function buildUdp(datagram: UdpDatagramInput): Uint8Array {
  const length = UDP_HEADER_LENGTH + datagram.payload.length;
  if (!isUint(datagram.sourcePort, 0xffff) || !isUint(datagram.destinationPort, 0xffff)) {
    throw new PacketError("UDP ports must be 16-bit unsigned integers");
  }
  if (length > 0xffff - 20)
    throw new PacketError(`UDP payload of ${datagram.payload.length} bytes is too large`);
  const out = new Uint8Array(length);
  writeU16(out, 0, datagram.sourcePort);
  writeU16(out, 2, datagram.destinationPort);
  writeU16(out, 4, length);
  out.set(datagram.payload, UDP_HEADER_LENGTH);
  const pseudo = ipv4PseudoHeaderSum(datagram.source, datagram.destination, IpProtocol.udp, length);
  const checksum = finishChecksum(sumWords(out, pseudo));
  writeU16(out, 6, checksum === 0 ? 0xffff : checksum);
  return out;
}
