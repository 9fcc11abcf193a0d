/**
 * ICMPv4 (RFC 792): echo request/reply and destination unreachable (with the quoted original datagram).
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { isUint, readU16, writeU16 } from "./bytes.js";
import { internetChecksum } from "./checksum.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** ICMPv4 message types this stack handles. */
export const Icmpv4Type = Object.freeze({ echoReply: 0, destinationUnreachable: 3, echoRequest: 8 } as const);

/** Destination-unreachable codes (RFC 792, RFC 1812). */
export const UnreachableCode = Object.freeze({
  network: 0,
  host: 1,
  protocol: 2,
  port: 3,
  fragmentationNeeded: 4,
  networkProhibited: 9,
  hostProhibited: 10,
  administrativelyProhibited: 13,
} as const);

/** Length of the ICMP header (type, code, checksum, rest-of-header). */
export const ICMPV4_HEADER_LENGTH = 8;

/** Bytes of the original datagram's payload quoted after its IP header (RFC 792: 64 bits). */
const QUOTED_PAYLOAD_BYTES = 8;

/** An echo request or reply. `data` is a view into the input. */
export interface Icmpv4Echo {
  readonly kind: "echo-request" | "echo-reply";
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
}

/** A destination-unreachable message. `original` (the quoted datagram start) is a view into the input. */
export interface Icmpv4Unreachable {
  readonly kind: "destination-unreachable";
  readonly code: number;
  /** Next-hop MTU (code 4, RFC 1191); 0 otherwise. */
  readonly nextHopMtu: number;
  readonly original: Uint8Array;
}

/** Any other ICMP message, kept raw. */
export interface Icmpv4Other {
  readonly kind: "other";
  readonly type: number;
  readonly code: number;
  /** The 4 rest-of-header bytes followed by the body. */
  readonly body: Uint8Array;
}

/** A parsed ICMPv4 message. */
export type Icmpv4Message = Icmpv4Echo | Icmpv4Unreachable | Icmpv4Other;

/** Parses an ICMPv4 message (the IPv4 payload) and verifies its checksum. */
export function parseIcmpv4(bytes: Uint8Array): ParseResult<Icmpv4Message> {
  if (bytes.length < ICMPV4_HEADER_LENGTH) return parseError("icmpv4", "truncated", `${bytes.length} bytes`);
  if (internetChecksum(bytes) !== 0) return parseError("icmpv4", "bad-checksum", "checksum mismatch");
  const type = bytes[0] ?? 0;
  const code = bytes[1] ?? 0;
  if (type === Icmpv4Type.echoRequest || type === Icmpv4Type.echoReply) {
    if (code !== 0) return parseError("icmpv4", "bad-field", `echo with code ${code}`);
    return parsed({
      kind: type === Icmpv4Type.echoRequest ? "echo-request" : "echo-reply",
      identifier: readU16(bytes, 4),
      sequence: readU16(bytes, 6),
      data: bytes.subarray(ICMPV4_HEADER_LENGTH),
    });
  }
  if (type === Icmpv4Type.destinationUnreachable) {
    return parsed({
      kind: "destination-unreachable",
      code,
      nextHopMtu: code === UnreachableCode.fragmentationNeeded ? readU16(bytes, 6) : 0,
      original: bytes.subarray(ICMPV4_HEADER_LENGTH),
    });
  }
  return parsed({ kind: "other", type, code, body: bytes.subarray(4) });
}

/** Builds an echo request or reply. Throws `PacketError` on out-of-range fields. */
export function buildIcmpv4Echo(message: Icmpv4Echo): Uint8Array {
  if (!isUint(message.identifier, 0xffff) || !isUint(message.sequence, 0xffff)) {
    throw new PacketError("ICMP echo identifier and sequence must be 16-bit unsigned integers");
  }
  const out = new Uint8Array(ICMPV4_HEADER_LENGTH + message.data.length);
  out[0] = message.kind === "echo-request" ? Icmpv4Type.echoRequest : Icmpv4Type.echoReply;
  writeU16(out, 4, message.identifier);
  writeU16(out, 6, message.sequence);
  out.set(message.data, ICMPV4_HEADER_LENGTH);
  writeU16(out, 2, internetChecksum(out));
  return out;
}

/** What {@link buildIcmpv4Unreachable} needs. */
export interface Icmpv4UnreachableInput {
  readonly code: number;
  /** The offending IPv4 datagram as received (header first); only its header and 8 payload bytes are quoted. */
  readonly original: Uint8Array;
  /** Next-hop MTU for code 4 (fragmentation needed). */
  readonly nextHopMtu?: number;
}

/**
 * Builds a destination-unreachable message quoting the original IPv4 header (its IHL, bounded by the bytes
 * given) and the first 8 bytes of its payload. Throws `PacketError` on out-of-range fields.
 */
export function buildIcmpv4Unreachable(input: Icmpv4UnreachableInput): Uint8Array {
  const mtu = input.nextHopMtu ?? 0;
  if (!isUint(input.code, 15) || !isUint(mtu, 0xffff))
    throw new PacketError("ICMP code or next-hop MTU out of range");
  const headerLength = Math.max(20, ((input.original[0] ?? 0) & 0x0f) * 4);
  const quoted = input.original.subarray(
    0,
    Math.min(input.original.length, headerLength + QUOTED_PAYLOAD_BYTES),
  );
  const out = new Uint8Array(ICMPV4_HEADER_LENGTH + quoted.length);
  out[0] = Icmpv4Type.destinationUnreachable;
  out[1] = input.code;
  writeU16(out, 6, mtu);
  out.set(quoted, ICMPV4_HEADER_LENGTH);
  writeU16(out, 2, internetChecksum(out));
  return out;
}
