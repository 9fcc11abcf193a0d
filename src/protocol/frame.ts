/**
 * Frame encoding and incremental decoding. The decoder is fed untrusted bytes from the guest: every length is
 * checked against {@link MAX_PAYLOAD} before anything is buffered for it, and any violation is a
 * {@link FrameError}, after which the decoder refuses further input.
 */
import { FrameKind, HEADER_SIZE, MAX_CONTROL_MESSAGE, MAX_PAYLOAD, isFrameKind } from "./constants.js";

/** One decoded frame. `payload` is a view on (or copy of) the received bytes. */
export interface Frame {
  readonly stream: number;
  readonly kind: FrameKind;
  readonly payload: Buffer;
}

/** Why a byte stream is not a valid frame sequence. Matches the `error` names of `protocol/vectors.json`. */
export type FrameErrorReason = "oversize" | "unknown-kind" | "truncated" | "bad-window" | "bad-stream";

/** A violation of the framing rules; the connection that produced it must be closed. */
export class FrameError extends Error {
  readonly reason: FrameErrorReason;
  constructor(reason: FrameErrorReason, message: string) {
    super(message);
    this.name = "FrameError";
    this.reason = reason;
  }
}

/** Encodes one frame. Throws a RangeError for payloads over {@link MAX_PAYLOAD} (a bug on our side). */
export function encodeFrame(stream: number, kind: FrameKind, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload ${payload.length} > ${MAX_PAYLOAD}`);
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(stream >>> 0, 4);
  out.writeUInt8(kind, 8);
  out.set(payload, HEADER_SIZE);
  return out;
}

/**
 * Encodes a CONTROL message of any size up to {@link MAX_CONTROL_MESSAGE}: one CONTROL frame, or CONTINUE frames
 * carrying its leading parts and a CONTROL frame with the last. Throws a RangeError above the limit (callers
 * validate sizes first and raise typed errors).
 */
export function encodeControl(stream: number, payload: Uint8Array): Buffer {
  if (payload.length <= MAX_PAYLOAD) return encodeFrame(stream, FrameKind.CONTROL, payload);
  if (payload.length > MAX_CONTROL_MESSAGE) {
    throw new RangeError(`control message ${payload.length} > ${MAX_CONTROL_MESSAGE}`);
  }
  const frames: Buffer[] = [];
  let offset = 0;
  while (payload.length - offset > MAX_PAYLOAD) {
    frames.push(encodeFrame(stream, FrameKind.CONTINUE, payload.subarray(offset, offset + MAX_PAYLOAD)));
    offset += MAX_PAYLOAD;
  }
  frames.push(encodeFrame(stream, FrameKind.CONTROL, payload.subarray(offset)));
  return Buffer.concat(frames);
}

/**
 * Reassembles CONTROL messages sent as CONTINUE parts (see {@link encodeControl}) for a receiver that accepts
 * them. Memory is bounded by {@link MAX_CONTROL_MESSAGE} per stream with a message in progress.
 */
export class ControlAssembler {
  readonly #parts = new Map<number, { chunks: Buffer[]; bytes: number }>();

  /**
   * Feeds a frame. CONTINUE parts are kept and yield `undefined`; a CONTROL frame yields the whole message;
   * any other frame yields itself unchanged. Throws {@link FrameError} on a violation (a part not followed by
   * the rest of its message, or a message over the limit).
   */
  accept(frame: Frame): Frame | undefined {
    const pending = this.#parts.get(frame.stream);
    if (frame.kind === FrameKind.CONTINUE) {
      const bytes = (pending?.bytes ?? 0) + frame.payload.length;
      if (bytes > MAX_CONTROL_MESSAGE) {
        throw new FrameError(
          "oversize",
          `control message on stream ${frame.stream} over ${MAX_CONTROL_MESSAGE} bytes`,
        );
      }
      const entry = pending ?? { chunks: [], bytes: 0 };
      entry.chunks.push(Buffer.from(frame.payload));
      entry.bytes = bytes;
      this.#parts.set(frame.stream, entry);
      return undefined;
    }
    if (pending === undefined) return frame;
    if (frame.kind !== FrameKind.CONTROL) {
      throw new FrameError(
        "truncated",
        `stream ${frame.stream}: a frame of kind ${frame.kind} inside a control message`,
      );
    }
    this.#parts.delete(frame.stream);
    if (pending.bytes + frame.payload.length > MAX_CONTROL_MESSAGE) {
      throw new FrameError(
        "oversize",
        `control message on stream ${frame.stream} over ${MAX_CONTROL_MESSAGE} bytes`,
      );
    }
    return { ...frame, payload: Buffer.concat([...pending.chunks, frame.payload]) };
  }
}

/** Encodes a WINDOW frame granting `credit` more bytes on `stream`. */
export function encodeWindow(stream: number, credit: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(credit >>> 0, 0);
  return encodeFrame(stream, FrameKind.WINDOW, payload);
}

/** Checks the per-kind rules that do not depend on connection state. */
function validate(frame: Frame): void {
  if (frame.kind === FrameKind.WINDOW && frame.payload.length !== 4) {
    throw new FrameError("bad-window", `WINDOW payload is ${frame.payload.length} bytes, expected 4`);
  }
  if (frame.kind === FrameKind.HELLO && frame.stream !== 0) {
    throw new FrameError("bad-stream", `HELLO on stream ${frame.stream}, expected 0`);
  }
}

/**
 * Incremental decoder: `push()` chunks as they arrive and get back the frames they complete. Memory held is
 * bounded by one maximal frame.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameError | undefined;

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the frames completed by them. Throws {@link FrameError} on a violation. */
  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        const frame = this.next();
        if (!frame) break;
        frames.push(frame);
      }
    } catch (err) {
      if (err instanceof FrameError) this.failed = err;
      throw err;
    }
    return frames;
  }

  /** Declares end of input: throws {@link FrameError} `truncated` if a partial frame is pending. */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.buffered > 0) {
      this.failed = new FrameError(
        "truncated",
        `stream ended inside a frame (${this.buffered} bytes pending)`,
      );
      throw this.failed;
    }
  }

  private next(): Frame | undefined {
    if (this.buffered < HEADER_SIZE) return undefined;
    const head = this.peek(HEADER_SIZE);
    const length = head.readUInt32BE(0);
    if (length > MAX_PAYLOAD) {
      throw new FrameError("oversize", `frame length ${length} exceeds the maximum ${MAX_PAYLOAD}`);
    }
    const kind = head.readUInt8(8);
    if (!isFrameKind(kind)) throw new FrameError("unknown-kind", `unknown frame kind 0x${kind.toString(16)}`);
    if (this.buffered < HEADER_SIZE + length) return undefined;
    const bytes = this.take(HEADER_SIZE + length);
    const frame: Frame = { stream: head.readUInt32BE(4), kind, payload: bytes.subarray(HEADER_SIZE) };
    validate(frame);
    return frame;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const head = this.peek(n);
    const out = head.subarray(0, n);
    const rest = head.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}
