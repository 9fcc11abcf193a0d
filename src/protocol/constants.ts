/**
 * Protocol constants, mirrored in `agent/internal/protocol` and checked against `protocol/vectors.json` by both
 * test suites. See `protocol/PROTOCOL.md`.
 */

/** Lowest protocol version this host speaks. */
export const MIN_PROTOCOL_VERSION = 1;
/** Highest protocol version this host speaks. */
export const MAX_PROTOCOL_VERSION = 1;
/** Bytes in a frame header: u32 length, u32 stream, u8 kind. */
export const HEADER_SIZE = 9;
/** Largest payload a frame may carry (1 MiB). Larger lengths are a protocol error. */
export const MAX_PAYLOAD = 1024 * 1024;
/** Credit each side starts with, per stream, for STDIN/STDOUT/STDERR bytes. */
export const INITIAL_WINDOW = 256 * 1024;
/** Largest data payload a sender puts in one frame. */
export const MAX_DATA_CHUNK = 64 * 1024;
/** Largest CONTROL message, carried in CONTINUE frames plus a final CONTROL frame when over {@link MAX_PAYLOAD}. */
export const MAX_CONTROL_MESSAGE = 8 * 1024 * 1024;
/** Stream ids at or above this value are reserved for streams the guest opens. */
export const GUEST_STREAM_BASE = 0x8000_0000;

/** Frame kinds. */
export const FrameKind = {
  HELLO: 1,
  CONTROL: 2,
  STDIN: 3,
  STDOUT: 4,
  STDERR: 5,
  WINDOW: 6,
  /** A leading part of a CONTROL message larger than {@link MAX_PAYLOAD}. */
  CONTINUE: 7,
} as const;

/** One of the {@link FrameKind} values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** True when `kind` is a defined {@link FrameKind}. */
export function isFrameKind(kind: number): kind is FrameKind {
  return kind >= FrameKind.HELLO && kind <= FrameKind.CONTINUE;
}
