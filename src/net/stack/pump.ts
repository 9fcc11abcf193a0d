/**
 * Moves plaintext between the guest side and the upstream side of a relayed connection (intercepted TLS, or
 * plain TCP a relay asked for), through an optional {@link RelaySession}. Backpressure both ways (a side whose
 * peer cannot take more is paused until `drain`), half-close both ways, and a `block` verdict or an error on
 * either side resets both. The session is closed exactly once, when the connection is gone.
 *
 * @packageDocumentation
 */
import type { Duplex } from "node:stream";
import type { RelaySession, RelayVerdict } from "../tls/plaintext-relay.js";

/** The two sides and what to tell the caller. */
export interface PumpSides {
  /** Guest plaintext (a `TLSSocket` over the guest stream, or the guest stream itself). */
  readonly guest: Duplex;
  /** The raw guest connection under `guest` (destroying it resets the guest); may be `guest` itself. */
  readonly guestRaw: Duplex;
  readonly upstream: Duplex;
  readonly session: RelaySession | undefined;
  /** The session blocked the connection (both sides are being reset). */
  readonly onBlock?: (reason: string) => void;
  /** Both sides are closed. */
  readonly onDone?: () => void;
}

/**
 * Bytes a side may hold queued for writing before its source is paused. Larger than a stream's default
 * high-water mark (16 KiB): pausing at every TLS record costs an event-loop turn each and left the pipe idle.
 */
const QUEUED_HIGH_WATER = 1024 * 1024;

/** A side still open this long after the other closed is destroyed. */
const LINGER_MS = 30_000;

/** Joins the two sides until both are closed. */
export function pump(sides: PumpSides): void {
  const { guest, guestRaw, upstream, session } = sides;
  let finished = false;
  let open = 2;
  const resetBoth = (): void => {
    upstream.destroy();
    guest.destroy();
    guestRaw.destroy(new Error("connection reset"));
  };
  const apply = (verdict: RelayVerdict, to: Duplex, from: Duplex): boolean => {
    if ("block" in verdict) {
      sides.onBlock?.(verdict.block);
      resetBoth();
      return false;
    }
    for (const chunk of verdict.forward) if (chunk.length > 0) to.write(chunk);
    if (to.writableLength >= QUEUED_HIGH_WATER && !from.isPaused()) {
      from.pause();
      to.once("drain", () => from.resume());
    }
    return true;
  };
  guest.on("data", (chunk: Buffer) => {
    apply(session === undefined ? { forward: [chunk] } : session.fromGuest(chunk), upstream, guest);
  });
  guest.on("end", () => {
    if (session === undefined || apply(session.endFromGuest(), upstream, guest)) upstream.end();
  });
  upstream.on("data", (chunk: Buffer) => {
    const verdict = session?.fromUpstream?.(chunk) ?? { forward: [chunk] };
    apply(verdict, guest, upstream);
  });
  upstream.on("end", () => {
    if (!guest.destroyed) guest.end();
  });
  const onClose = (other: Duplex) => (): void => {
    open--;
    if (open > 0) {
      if (!other.destroyed && !other.writableEnded) other.end();
      setTimeout(() => other.destroy(), LINGER_MS).unref();
      return;
    }
    if (finished) return;
    finished = true;
    session?.close();
    sides.onDone?.();
  };
  const onError = (): void => {
    resetBoth();
  };
  guest.on("error", onError);
  upstream.on("error", onError);
  guest.once("close", onClose(upstream));
  upstream.once("close", onClose(guest));
  guestRaw.on("error", onError);
}
