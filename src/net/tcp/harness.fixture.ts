/**
 * Test helpers for the TCP machine: a fake clock, segment builders, and a connection driven to ESTABLISHED.
 * Test data only.
 */
import { TcpFlag } from "../packet/tcp.js";
import type { TcpOptions } from "../packet/tcp-options.js";
import { TcpConnection } from "./connection.js";
import type {
  IncomingSegment,
  OutgoingSegment,
  TcpClock,
  TcpConnectionOptions,
  TcpEvent,
  TcpFlowId,
  TcpOutput,
} from "./types.js";

/** A clock tests move by hand. */
export class FakeClock implements TcpClock {
  /** Current time (ms); tests may set it directly. */
  time = 0;
  /** The current time. */
  now(): number {
    return this.time;
  }
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.time += ms;
  }
}

/** The flow used by most tests. */
export const FLOW: TcpFlowId = Object.freeze({
  guestAddress: "10.0.2.15",
  guestPort: 40000,
  remoteAddress: "93.184.216.34",
  remotePort: 443,
});

/** The guest's initial sequence number in tests. */
export const GUEST_ISS = 1000;
/** Our initial sequence number in tests. */
export const OUR_ISS = 5000;

/** Shorthand flag names. */
export const { syn: SYN, ack: ACK, fin: FIN, rst: RST, psh: PSH } = TcpFlag;

/** A guest segment; defaults: no flags, window 65535, no options, no payload. */
export function seg(fields: {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array | string;
}): IncomingSegment {
  const payload =
    typeof fields.payload === "string"
      ? new TextEncoder().encode(fields.payload)
      : (fields.payload ?? new Uint8Array());
  return {
    seq: fields.seq >>> 0,
    ack: (fields.ack ?? 0) >>> 0,
    flags: fields.flags,
    window: fields.window ?? 65535,
    options: fields.options ?? {},
    payload,
  };
}

/** Bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The text of segment payloads or data events. */
export function textOf(chunks: readonly Uint8Array[]): string {
  return chunks.map((c) => new TextDecoder().decode(c)).join("");
}

/** Data carried by the `data` events of outputs. */
export function dataEvents(...outputs: TcpOutput[]): Uint8Array[] {
  return outputs.flatMap((o) => o.events).flatMap((e) => (e.type === "data" ? [e.data] : []));
}

/** Event types of outputs, in order. */
export function eventTypes(...outputs: TcpOutput[]): TcpEvent["type"][] {
  return outputs.flatMap((o) => o.events.map((e) => e.type));
}

/** The only segment of an output (fails the test otherwise). */
export function only(output: TcpOutput): OutgoingSegment {
  if (output.segments.length !== 1)
    throw new Error(
      `expected one segment, got ${output.segments.length}: ${JSON.stringify(output.segments)}`,
    );
  const first = output.segments[0];
  if (first === undefined) throw new Error("unreachable");
  return first;
}

/** A connection past the handshake, plus its clock and the guest's next sequence number. */
export interface Established {
  readonly connection: TcpConnection;
  readonly clock: FakeClock;
  /** The guest's next sequence number (rcv.nxt on our side). */
  readonly guestSeq: number;
  /** Our next sequence number (what the guest acks). */
  readonly ourSeq: number;
  readonly closed: TcpConnection[];
}

/** Drives a passive open to ESTABLISHED. */
export function establish(
  setup: {
    options?: TcpConnectionOptions;
    guestIss?: number;
    ourIss?: number;
    synOptions?: TcpOptions;
    window?: number;
  } = {},
): Established {
  const clock = new FakeClock();
  const guestIss = setup.guestIss ?? GUEST_ISS;
  const ourIss = setup.ourIss ?? OUR_ISS;
  const closed: TcpConnection[] = [];
  const { connection } = TcpConnection.fromSyn(
    {
      flow: FLOW,
      clock,
      iss: ourIss,
      ...(setup.options === undefined ? {} : { options: setup.options }),
      onClosed: (c) => closed.push(c),
    },
    seg({
      seq: guestIss,
      flags: SYN,
      options: setup.synOptions ?? { mss: 1460, windowScale: 7 },
      window: 64240,
    }),
  );
  connection.accept();
  connection.receive(seg({ seq: guestIss + 1, ack: ourIss + 1, flags: ACK, window: setup.window ?? 65535 }));
  if (connection.state !== "established") throw new Error(`handshake failed: ${connection.state}`);
  return { connection, clock, guestSeq: (guestIss + 1) >>> 0, ourSeq: (ourIss + 1) >>> 0, closed };
}
