/**
 * TCP segments over IPv4 (RFC 9293 section 3.1): header, options, pseudo-header checksum.
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { isUint, readU16, readU32, writeU16, writeU32 } from "./bytes.js";
import { finishChecksum, ipv4PseudoHeaderSum, sumWords } from "./checksum.js";
import { IpProtocol } from "./ipv4.js";
import { type ParseResult, parseError, parsed } from "./result.js";
import { type TcpOptions, type TcpOptionsInput, buildTcpOptions, parseTcpOptions } from "./tcp-options.js";
import type { Ipv4PseudoHeader } from "./udp.js";

/** TCP control bits, as a bit mask (`flags & TcpFlag.syn`). */
export const TcpFlag = Object.freeze({
  fin: 0x001,
  syn: 0x002,
  rst: 0x004,
  psh: 0x008,
  ack: 0x010,
  urg: 0x020,
  ece: 0x040,
  cwr: 0x080,
  ns: 0x100,
} as const);

/** Length of a TCP header without options. */
export const TCP_MIN_HEADER_LENGTH = 20;

/** A parsed TCP segment. `payload` is a view into the input. */
export interface TcpSegment {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly seq: number;
  readonly ack: number;
  /** Header length in bytes (20..60). */
  readonly headerLength: number;
  /** Control bits ({@link TcpFlag}). */
  readonly flags: number;
  /** The raw (unscaled) window field. */
  readonly window: number;
  readonly urgentPointer: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
}

/** What {@link buildTcp} needs. */
export interface TcpSegmentInput extends Ipv4PseudoHeader {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** The raw window field (already scaled down by the sender's shift). */
  readonly window: number;
  readonly options?: TcpOptionsInput;
  readonly payload: Uint8Array;
}

/**
 * Parses a TCP segment (the whole IPv4 payload) and verifies its checksum against `pseudo`.
 * Rejects a data offset below 5 or beyond the bytes given, and malformed options.
 */
export function parseTcp(bytes: Uint8Array, pseudo: Ipv4PseudoHeader): ParseResult<TcpSegment> {
  if (bytes.length < TCP_MIN_HEADER_LENGTH) return parseError("tcp", "truncated", `${bytes.length} bytes`);
  const headerLength = ((bytes[12] ?? 0) >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH)
    return parseError("tcp", "bad-length", `data offset ${headerLength / 4}`);
  if (headerLength > bytes.length) return parseError("tcp", "truncated", `header of ${headerLength} bytes`);
  if (bytes.length > 0xffff) return parseError("tcp", "bad-length", `segment of ${bytes.length} bytes`);
  const sum = sumWords(
    bytes,
    ipv4PseudoHeaderSum(pseudo.source, pseudo.destination, IpProtocol.tcp, bytes.length),
  );
  if (finishChecksum(sum) !== 0) return parseError("tcp", "bad-checksum", "checksum mismatch");
  const options = parseTcpOptions(bytes.subarray(TCP_MIN_HEADER_LENGTH, headerLength));
  if (!options.ok) return options;
  return parsed({
    sourcePort: readU16(bytes, 0),
    destinationPort: readU16(bytes, 2),
    seq: readU32(bytes, 4),
    ack: readU32(bytes, 8),
    headerLength,
    flags: readU16(bytes, 12) & 0x01ff,
    window: readU16(bytes, 14),
    urgentPointer: readU16(bytes, 18),
    options: options.value,
    payload: bytes.subarray(headerLength),
  });
}

function check(name: string, value: number, max: number): void {
  if (!isUint(value, max)) throw new PacketError(`TCP ${name} ${value} out of range 0..${max}`);
}

/** Builds a TCP segment with its checksum. Throws `PacketError` on out-of-range fields. */
export function buildTcp(segment: TcpSegmentInput): Uint8Array {
  const options = buildTcpOptions(segment.options ?? {});
  if (options.length > 40) throw new PacketError(`TCP options of ${options.length} bytes exceed 40`);
  const headerLength = TCP_MIN_HEADER_LENGTH + options.length;
  const length = headerLength + segment.payload.length;
  check("segment length", length, 0xffff - 20);
  check("source port", segment.sourcePort, 0xffff);
  check("destination port", segment.destinationPort, 0xffff);
  check("seq", segment.seq, 0xffffffff);
  check("ack", segment.ack, 0xffffffff);
  check("flags", segment.flags, 0x1ff);
  check("window", segment.window, 0xffff);
  const out = new Uint8Array(length);
  writeU16(out, 0, segment.sourcePort);
  writeU16(out, 2, segment.destinationPort);
  writeU32(out, 4, segment.seq);
  writeU32(out, 8, segment.ack);
  writeU16(out, 12, ((headerLength / 4) << 12) | segment.flags);
  writeU16(out, 14, segment.window);
  out.set(options, TCP_MIN_HEADER_LENGTH);
  out.set(segment.payload, headerLength);
  const pseudo = ipv4PseudoHeaderSum(segment.source, segment.destination, IpProtocol.tcp, length);
  writeU16(out, 16, finishChecksum(sumWords(out, pseudo)));
  return out;
}
