/**
 * Results of parsing untrusted bytes. Parsers never throw: they return {@link Parsed} or a {@link ParseError}
 * value (cheap to create, no stack trace: a hostile guest can send millions of bad frames).
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";

/** The protocol layer a parse error was found in. */
export type PacketLayer = "ethernet" | "arp" | "ipv4" | "icmpv4" | "udp" | "tcp" | "tcp-options";

/** Why a packet was rejected. */
export type ParseErrorReason =
  /** Fewer bytes than the header or a length field needs. */
  | "truncated"
  /** A length field is inconsistent (shorter than the header, longer than the buffer). */
  | "bad-length"
  /** The checksum does not verify. */
  | "bad-checksum"
  /** A field has a value this stack does not accept (IP version, ARP hardware type, flags...). */
  | "bad-field"
  /** A well-formed packet of a kind this stack does not handle (802.3 length frame, ARP for IPv6...). */
  | "unsupported";

/** A rejected packet: where, why, and a short human-readable detail. */
export interface ParseError {
  readonly ok: false;
  readonly layer: PacketLayer;
  readonly reason: ParseErrorReason;
  readonly message: string;
}

/** A successfully parsed value. */
export interface Parsed<T> {
  readonly ok: true;
  readonly value: T;
}

/** Outcome of every parser in this directory. */
export type ParseResult<T> = Parsed<T> | ParseError;

/** Wraps a parsed value. */
export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** Builds a {@link ParseError}. */
export function parseError(layer: PacketLayer, reason: ParseErrorReason, message: string): ParseError {
  return { ok: false, layer, reason, message };
}

/** Turns a {@link ParseError} into a throwable {@link PacketError}, for callers that prefer exceptions. */
export function toPacketError(error: ParseError): PacketError {
  return new PacketError(`${error.layer}: ${error.reason}: ${error.message}`);
}
