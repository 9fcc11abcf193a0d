/**
 * What the protocol rewriters share: the signal that blocks a connection, and turning scanned pieces into the
 * bytes sent upstream (a match becomes the secret's value, or blocks the connection when the flow may not have it).
 *
 * @packageDocumentation
 */
import type { ScanPiece } from "./scanner.js";

/**
 * Thrown inside the rewriters to block the connection; the guard turns it into a `block` verdict. `secret` is
 * set when a placeholder was bound for a host its secret is not allowed for (a violation). `reason` never holds
 * a secret value.
 */
export class BlockSignal extends Error {
  readonly reason: string;
  readonly secret: number | undefined;
  constructor(reason: string, secret?: number) {
    super(reason);
    this.reason = reason;
    this.secret = secret;
  }
}

/** Maps a placeholder (by index) to the bytes that replace it, or throws a {@link BlockSignal}. */
export type PlaceholderResolver = (index: number) => Uint8Array;

/** The bytes `pieces` stand for, with each match replaced by its value. */
export function render(pieces: readonly ScanPiece[], resolve: PlaceholderResolver): Uint8Array[] {
  return pieces.map((piece) => (piece.kind === "bytes" ? piece.bytes : resolve(piece.index)));
}

/** `render` into one buffer. */
export function renderJoined(pieces: readonly ScanPiece[], resolve: PlaceholderResolver): Buffer {
  return Buffer.concat(render(pieces, resolve));
}

/** Total length of `chunks`. */
export function totalLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const chunk of chunks) n += chunk.length;
  return n;
}
