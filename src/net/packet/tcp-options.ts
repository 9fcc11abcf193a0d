/**
 * TCP options (RFC 9293 section 3.2, RFC 7323, RFC 2018): parse with strict length rules, build padded.
 *
 * @packageDocumentation
 */
import { PacketError } from "../../errors.js";
import { isUint, readU16, readU32, writeU32 } from "./bytes.js";
import { type ParseResult, parseError, parsed } from "./result.js";

/** TCP option kinds this stack understands. */
export const TcpOptionKind = Object.freeze({
  end: 0,
  noop: 1,
  mss: 2,
  windowScale: 3,
  sackPermitted: 4,
  sack: 5,
  timestamps: 8,
} as const);

/** Largest window-scale shift (RFC 7323 section 2.3); larger values are treated as 14. */
export const MAX_WINDOW_SCALE = 14;

/** One SACK block (left and right edge sequence numbers). */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

/** TCP timestamps option values. */
export interface TcpTimestamps {
  readonly value: number;
  readonly echo: number;
}

/** The options of a TCP header. Absent fields were not present. Unknown well-formed options are skipped. */
export interface TcpOptions {
  readonly mss?: number;
  /** Shift count, already clamped to {@link MAX_WINDOW_SCALE}. */
  readonly windowScale?: number;
  readonly sackPermitted?: boolean;
  readonly sack?: readonly SackBlock[];
  readonly timestamps?: TcpTimestamps;
}

interface MutableOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sack?: readonly SackBlock[];
  timestamps?: TcpTimestamps;
}

function bad(message: string): ParseResult<TcpOptions> {
  return parseError("tcp-options", "bad-field", message);
}

function applyOption(out: MutableOptions, kind: number, body: Uint8Array): string | undefined {
  switch (kind) {
    case TcpOptionKind.mss:
      if (body.length !== 2) return "MSS option length";
      out.mss = readU16(body, 0);
      return undefined;
    case TcpOptionKind.windowScale:
      if (body.length !== 1) return "window scale option length";
      out.windowScale = Math.min(body[0] ?? 0, MAX_WINDOW_SCALE);
      return undefined;
    case TcpOptionKind.sackPermitted:
      if (body.length !== 0) return "SACK-permitted option length";
      out.sackPermitted = true;
      return undefined;
    case TcpOptionKind.sack: {
      if (body.length === 0 || body.length % 8 !== 0) return "SACK option length";
      const blocks: SackBlock[] = [];
      for (let i = 0; i < body.length; i += 8)
        blocks.push({ left: readU32(body, i), right: readU32(body, i + 4) });
      out.sack = blocks;
      return undefined;
    }
    case TcpOptionKind.timestamps:
      if (body.length !== 8) return "timestamps option length";
      out.timestamps = { value: readU32(body, 0), echo: readU32(body, 4) };
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Parses the option bytes of a TCP header (at most 40). An option whose length byte is missing, below 2 or
 * past the end, or a known option with the wrong length, rejects the whole segment.
 */
export function parseTcpOptions(bytes: Uint8Array): ParseResult<TcpOptions> {
  const out: MutableOptions = {};
  let i = 0;
  while (i < bytes.length) {
    const kind = bytes[i] ?? 0;
    if (kind === TcpOptionKind.end) break;
    if (kind === TcpOptionKind.noop) {
      i += 1;
      continue;
    }
    if (i + 1 >= bytes.length) return parseError("tcp-options", "truncated", `option ${kind} has no length`);
    const length = bytes[i + 1] ?? 0;
    if (length < 2) return bad(`option ${kind} length ${length}`);
    if (i + length > bytes.length) return parseError("tcp-options", "truncated", `option ${kind} overruns`);
    const problem = applyOption(out, kind, bytes.subarray(i + 2, i + length));
    if (problem !== undefined) return bad(problem);
    i += length;
  }
  return parsed(out);
}

/** Options this stack sends (SACK blocks are never sent). */
export type TcpOptionsInput = Omit<TcpOptions, "sack">;

/** Encodes options, NOP-padded to a multiple of 4 bytes. Throws `PacketError` on out-of-range values. */
export function buildTcpOptions(options: TcpOptionsInput): Uint8Array {
  const parts: number[] = [];
  if (options.mss !== undefined) {
    if (!isUint(options.mss, 0xffff)) throw new PacketError(`MSS ${options.mss} out of range`);
    parts.push(TcpOptionKind.mss, 4, options.mss >> 8, options.mss & 0xff);
  }
  if (options.windowScale !== undefined) {
    if (!isUint(options.windowScale, MAX_WINDOW_SCALE)) throw new PacketError("window scale out of range");
    parts.push(TcpOptionKind.noop, TcpOptionKind.windowScale, 3, options.windowScale);
  }
  if (options.sackPermitted === true)
    parts.push(TcpOptionKind.noop, TcpOptionKind.noop, TcpOptionKind.sackPermitted, 2);
  const out = new Uint8Array(parts.length + (options.timestamps === undefined ? 0 : 12));
  out.set(parts);
  if (options.timestamps !== undefined) {
    const at = parts.length;
    out.set([TcpOptionKind.noop, TcpOptionKind.noop, TcpOptionKind.timestamps, 10], at);
    writeU32(out, at + 4, options.timestamps.value);
    writeU32(out, at + 8, options.timestamps.echo);
  }
  return out;
}
