/**
 * Guest TCP: the connection table driven by guest segments, one real timer at the table's next deadline, and
 * the host side of every connection behind a {@link TcpEndpoint}. Outbound connections are decided in
 * {@link TcpRelayOptions.onConnect}; inbound ones (published ports) start with {@link TcpRelay.open}.
 *
 * @packageDocumentation
 */
import type { Ipv4Packet } from "../packet/ipv4.js";
import type { TcpSegment } from "../packet/tcp.js";
import { TcpConnectionTable, flowKey } from "../tcp/table.js";
import type { TcpConnection } from "../tcp/connection.js";
import type { TcpConnectionOptions, TcpFlowId, TcpOutput } from "../tcp/types.js";
import { type StackContext, ipText } from "./context.js";
import { tcpFrame } from "./frames.js";
import { SendBudget } from "./send-budget.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

/** Default of {@link TcpRelayOptions.sendBudgetBytes}. */
export const DEFAULT_SEND_BUDGET = 32 * 1024 * 1024;

/** Options of a {@link TcpRelay}. */
export interface TcpRelayOptions {
  readonly connection?: TcpConnectionOptions;
  /** Host bytes held for the guest across all connections (default {@link DEFAULT_SEND_BUDGET}). */
  readonly sendBudgetBytes?: number;
  /** A guest SYN arrived for `flow` (destination as a number in `remote`): decide, then accept or refuse. */
  readonly onConnect: (flow: TcpFlowId, remote: number, handle: TcpHandle) => TcpEndpoint;
}

interface Entry {
  endpoint: TcpEndpoint | undefined;
  readonly remote: number;
  /** The connection's bytes counted in the send budget. */
  charged: number;
  /** Set while a write was cut short by the send budget: tells the host side to write again. */
  wake: (() => void) | undefined;
}

const clock = { now: (): number => performance.now() };

/** All guest TCP connections of one sandbox. */
export class TcpRelay {
  readonly #ctx: StackContext;
  readonly #table: TcpConnectionTable;
  readonly #entries = new Map<string, Entry>();
  readonly #onConnect: TcpRelayOptions["onConnect"];
  readonly #budget: SendBudget;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #armQueued = false;
  #closed = false;

  constructor(ctx: StackContext, options: TcpRelayOptions) {
    this.#ctx = ctx;
    this.#onConnect = options.onConnect;
    this.#budget = new SendBudget(options.sendBudgetBytes ?? DEFAULT_SEND_BUDGET);
    this.#table = new TcpConnectionTable({
      maxConnections: ctx.policy.maxConnections,
      clock,
      ...(options.connection === undefined ? {} : { connection: options.connection }),
    });
  }

  /** Host bytes held for the guest across all connections. */
  get sendBuffered(): number {
    return this.#budget.used;
  }

  /** Connections held (every state). */
  get size(): number {
    return this.#table.size;
  }

  /** A segment from the guest (checksums verified). */
  receive(ip: Ipv4Packet, tcp: TcpSegment): void {
    if (this.#closed || ip.source !== this.#ctx.link.guest) return;
    const flow: TcpFlowId = {
      guestAddress: ipText(ip.source),
      guestPort: tcp.sourcePort,
      remoteAddress: ipText(ip.destination),
      remotePort: tcp.destinationPort,
    };
    this.#apply(this.#table.receive(flow, tcp), ip.destination);
  }

  /** Opens a connection to the guest (a host client reached a published port); false when the table is full. */
  open(flow: TcpFlowId, remote: number, endpoint: (handle: TcpHandle) => TcpEndpoint): boolean {
    if (this.#closed) return false;
    const key = flowKey(flow);
    if (this.#entries.has(key) || this.#table.size >= this.#ctx.policy.maxConnections) return false;
    const entry: Entry = { endpoint: undefined, remote, charged: 0, wake: undefined };
    this.#entries.set(key, entry);
    entry.endpoint = endpoint(this.#handle(flow));
    this.#apply(this.#table.open(flow), remote);
    return true;
  }

  /** True when `flow` is in use (for choosing inbound source ports). */
  has(flow: TcpFlowId): boolean {
    return this.#entries.has(flowKey(flow)) || this.#table.get(flow) !== undefined;
  }

  /** Resets every connection and stops the timer. */
  close(): void {
    if (this.#closed) return;
    for (const output of this.#table.abortAll()) this.#apply(output, undefined);
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #connection(flow: TcpFlowId): TcpConnection | undefined {
    return this.#table.get(flow);
  }

  #handle(flow: TcpFlowId): TcpHandle {
    const run = (step: (c: TcpConnection) => TcpOutput): void => {
      const connection = this.#connection(flow);
      if (connection !== undefined) this.#apply(step(connection), undefined);
    };
    return {
      accept: () => {
        run((c) => (c.state === "syn-pending" ? c.accept() : emptyOutput(c)));
      },
      refuse: () => {
        run((c) => (c.state === "syn-pending" ? c.refuse() : c.abort()));
      },
      write: (data) => {
        const connection = this.#connection(flow);
        if (connection === undefined) return 0;
        const allowed = Math.min(data.length, this.#budget.available);
        const result = connection.write(allowed === data.length ? data : data.subarray(0, allowed));
        this.#apply(result, undefined);
        if (result.accepted === allowed && allowed < data.length) this.#waitForBudget(flow);
        return result.accepted;
      },
      close: () => {
        run((c) => c.close());
      },
      abort: () => {
        run((c) => c.abort());
      },
      consumed: (bytes) => {
        run((c) => c.consumed(bytes));
      },
    };
  }

  #apply(output: TcpOutput, remoteHint: number | undefined): void {
    const key = flowKey(output.flow);
    let entry = this.#entries.get(key);
    const remote = entry?.remote ?? remoteHint;
    if (output.segments.length > 0 && remote !== undefined) {
      const addr = this.#ctx.toGuest(remote);
      const ports = { source: output.flow.remotePort, destination: output.flow.guestPort };
      for (const segment of output.segments) this.#ctx.send(tcpFrame(addr, ports, segment, this.#ctx.frame));
    }
    for (const event of output.events) {
      switch (event.type) {
        case "connect":
          if (remote === undefined) break;
          entry = { endpoint: undefined, remote, charged: 0, wake: undefined };
          this.#entries.set(key, entry);
          entry.endpoint = this.#onConnect(output.flow, remote, this.#handle(output.flow));
          break;
        case "established":
          entry?.endpoint?.established();
          break;
        case "data":
          entry?.endpoint?.data(event.data);
          break;
        case "end":
          entry?.endpoint?.end();
          break;
        case "writable":
          entry?.endpoint?.writable();
          break;
        case "closed":
          if (entry?.wake !== undefined) {
            this.#budget.cancel(entry.wake);
            entry.wake = undefined;
          }
          if (entry !== undefined && this.#entries.get(key) === entry) this.#entries.delete(key);
          entry?.endpoint?.closed(event.reason);
          break;
        case "rejected":
          this.#ctx.counters.limited++;
          break;
      }
    }
    if (entry !== undefined) this.#charge(entry, this.#table.get(output.flow)?.sendQueued ?? 0);
    this.#queueArm();
  }

  /** Brings the budget in line with what the connection of `entry` now holds (0 once it is gone). */
  #charge(entry: Entry, queued: number): void {
    if (queued === entry.charged) return;
    const delta = queued - entry.charged;
    entry.charged = queued;
    this.#budget.adjust(delta);
  }

  /** The host side of `flow` was cut short by the budget: tell it to write again once the budget frees up. */
  #waitForBudget(flow: TcpFlowId): void {
    const entry = this.#entries.get(flowKey(flow));
    if (entry === undefined || entry.wake !== undefined) return;
    const wake = (): void => {
      entry.wake = undefined;
      entry.endpoint?.writable();
    };
    entry.wake = wake;
    this.#budget.wait(wake);
  }

  #queueArm(): void {
    if (this.#armQueued || this.#closed) return;
    this.#armQueued = true;
    queueMicrotask(() => {
      this.#armQueued = false;
      this.#arm();
    });
  }

  #arm(): void {
    if (this.#closed) return;
    const deadline = this.#table.nextDeadline();
    if (deadline === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= deadline) return;
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        for (const output of this.#table.tick()) this.#apply(output, undefined);
        this.#arm();
      },
      Math.max(0, deadline - clock.now()),
    );
    this.#timer.unref();
  }
}

function emptyOutput(connection: TcpConnection): TcpOutput {
  return { flow: connection.flow, segments: [], events: [] };
}
