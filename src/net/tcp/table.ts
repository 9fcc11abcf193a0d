/**
 * The connection table: guest TCP flows by 4-tuple, bounded by `maxConnections`. A SYN beyond the limit is
 * answered with RST at once and never creates state; segments of unknown flows get RST.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import { TcpConnection } from "./connection.js";
import { isConnectionRequest } from "./handshake.js";
import { randomIsn } from "./isn.js";
import { resetFor } from "./reset.js";
import { seqGt } from "./seq.js";
import type { IncomingSegment, TcpClock, TcpConnectionOptions, TcpFlowId, TcpOutput } from "./types.js";

/** Options of a {@link TcpConnectionTable}. */
export interface TcpTableOptions {
  /** Most connections held at once, every state included (the policy's `maxConnections`). */
  readonly maxConnections: number;
  readonly clock: TcpClock;
  /** Initial sequence number source (default {@link randomIsn}). */
  readonly isn?: () => number;
  /** Tunables passed to every connection. */
  readonly connection?: TcpConnectionOptions;
}

/** The map key of a flow. */
export function flowKey(flow: TcpFlowId): string {
  return `${flow.guestAddress}|${flow.guestPort}|${flow.remoteAddress}|${flow.remotePort}`;
}

function outputOf(flow: TcpFlowId, parts: Partial<Omit<TcpOutput, "flow">>): TcpOutput {
  return { flow, segments: parts.segments ?? [], events: parts.events ?? [] };
}

/** All guest TCP connections of one sandbox. */
export class TcpConnectionTable {
  readonly #connections = new Map<string, TcpConnection>();
  readonly #options: TcpTableOptions;
  readonly #isn: () => number;

  constructor(options: TcpTableOptions) {
    if (!Number.isSafeInteger(options.maxConnections) || options.maxConnections < 1) {
      throw new InvalidConfigError(
        "network.maxConnections",
        `must be a positive integer, got ${options.maxConnections}`,
      );
    }
    this.#options = options;
    this.#isn = options.isn ?? randomIsn;
  }

  /** Connections held (never more than `maxConnections`). */
  get size(): number {
    return this.#connections.size;
  }

  /** The connection of `flow`, if any. */
  get(flow: TcpFlowId): TcpConnection | undefined {
    return this.#connections.get(flowKey(flow));
  }

  /** All connections (a snapshot). */
  connections(): TcpConnection[] {
    return [...this.#connections.values()];
  }

  /** Dispatches a guest segment of `flow` (its checksum already verified by the codec). */
  receive(flow: TcpFlowId, segment: IncomingSegment): TcpOutput {
    const existing = this.get(flow);
    if (existing !== undefined) {
      if (!(
        existing.state === "time-wait" &&
        isConnectionRequest(segment) &&
        seqGt(segment.seq, existing.receiveNext)
      )) {
        return existing.receive(segment);
      }
      const discarded = existing.discard();
      const fresh = this.#create(flow, segment);
      return outputOf(flow, { segments: fresh.segments, events: [...discarded.events, ...fresh.events] });
    }
    if (isConnectionRequest(segment)) return this.#create(flow, segment);
    const reset = resetFor(segment);
    return outputOf(flow, { segments: reset === undefined ? [] : [reset] });
  }

  /** Opens a connection to the guest (a host client reached a published port). */
  open(flow: TcpFlowId): TcpOutput {
    if (this.get(flow) !== undefined)
      return outputOf(flow, { events: [{ type: "rejected", reason: "duplicate-flow" }] });
    if (this.size >= this.#options.maxConnections)
      return outputOf(flow, { events: [{ type: "rejected", reason: "table-full" }] });
    const { connection, output } = TcpConnection.open(this.#init(flow));
    this.#connections.set(flowKey(flow), connection);
    return output;
  }

  /** When {@link tick} next has work; undefined when no connection has a timer pending. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const connection of this.#connections.values()) {
      const deadline = connection.nextDeadline();
      if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
    }
    return next;
  }

  /** Runs every due timer; returns the non-empty outputs. */
  tick(): TcpOutput[] {
    const now = this.#options.clock.now();
    const outputs: TcpOutput[] = [];
    for (const connection of this.connections()) {
      const deadline = connection.nextDeadline();
      if (deadline === undefined || deadline > now) continue;
      const output = connection.tick();
      if (output.segments.length > 0 || output.events.length > 0) outputs.push(output);
    }
    return outputs;
  }

  /** Resets every connection (sandbox shutdown). */
  abortAll(): TcpOutput[] {
    return this.connections().map((connection) => connection.abort());
  }

  #init(flow: TcpFlowId) {
    return {
      flow,
      clock: this.#options.clock,
      iss: this.#isn(),
      ...(this.#options.connection === undefined ? {} : { options: this.#options.connection }),
      onClosed: (connection: TcpConnection) => {
        if (this.#connections.get(flowKey(flow)) === connection) this.#connections.delete(flowKey(flow));
      },
    };
  }

  #create(flow: TcpFlowId, syn: IncomingSegment): TcpOutput {
    if (this.size >= this.#options.maxConnections) {
      const reset = resetFor(syn);
      return outputOf(flow, {
        segments: reset === undefined ? [] : [reset],
        events: [{ type: "rejected", reason: "table-full" }],
      });
    }
    const { connection, output } = TcpConnection.fromSyn(this.#init(flow), syn);
    this.#connections.set(flowKey(flow), connection);
    return output;
  }
}
