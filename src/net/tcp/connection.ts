/**
 * `TcpConnection`: one guest-facing TCP flow terminated in our stack. Pure: every method consumes an input
 * (a guest segment, a host-side action, the passage of time) and returns the segments to send to the guest
 * and the events for the host side. No sockets, no real timers: `tick()` runs what `nextDeadline()` announced.
 *
 * @packageDocumentation
 */
import { InvalidStateError } from "../../errors.js";
import { finishClose, hostCloseTransition } from "./close.js";
import {
  acceptSyn,
  openActive,
  receiveSyn,
  refuseSyn,
  segmentArrivesPending,
  segmentArrivesSynSent,
} from "./handshake.js";
import { segmentArrivesSynchronized } from "./input.js";
import { output, receiveWindow, sendReset } from "./output.js";
import { type Tcb, createTcb, resolveTcpOptions } from "./tcb.js";
import { fireTimers, nextDeadline } from "./timers.js";
import type {
  IncomingSegment,
  TcpClock,
  TcpConnectionOptions,
  TcpFlowId,
  TcpOutput,
  TcpState,
  TcpWriteOutput,
} from "./types.js";

/** What every constructor of a connection needs. */
export interface TcpConnectionInit {
  readonly flow: TcpFlowId;
  readonly clock: TcpClock;
  /** Our initial sequence number (random in production, fixed in tests). */
  readonly iss: number;
  readonly options?: TcpConnectionOptions;
  /** Called once when the connection reaches CLOSED (the table uses it to forget the flow). */
  readonly onClosed?: (connection: TcpConnection) => void;
}

const WRITABLE_STATES = new Set<TcpState>([
  "syn-pending",
  "syn-sent",
  "syn-received",
  "established",
  "close-wait",
]);

/** A guest-facing TCP connection. Create with {@link TcpConnection.fromSyn} or {@link TcpConnection.open}. */
export class TcpConnection {
  readonly #tcb: Tcb;
  readonly #onClosed: ((connection: TcpConnection) => void) | undefined;
  #notified = false;

  private constructor(init: TcpConnectionInit, state: TcpState) {
    this.#tcb = createTcb({
      state,
      flow: init.flow,
      options: resolveTcpOptions(init.options),
      clock: init.clock,
      iss: init.iss,
    });
    this.#onClosed = init.onClosed;
  }

  /** Passive open from the guest's SYN: state `syn-pending`, output carries the `connect` event. */
  static fromSyn(
    init: TcpConnectionInit,
    syn: IncomingSegment,
  ): { connection: TcpConnection; output: TcpOutput } {
    const connection = new TcpConnection(init, "syn-pending");
    const output = connection.#run((tcb) => {
      receiveSyn(tcb, syn);
    });
    return { connection, output };
  }

  /** Active open towards the guest (a published port): state `syn-sent`, output carries our SYN. */
  static open(init: TcpConnectionInit): { connection: TcpConnection; output: TcpOutput } {
    const connection = new TcpConnection(init, "syn-sent");
    return { connection, output: connection.#run(openActive) };
  }

  /** The flow's 4-tuple. */
  get flow(): TcpFlowId {
    return this.#tcb.flow;
  }

  /** Current state. */
  get state(): TcpState {
    return this.#tcb.state;
  }

  /** The guest's next expected sequence number (for TIME-WAIT reuse checks). */
  get receiveNext(): number {
    return this.#tcb.rcvNxt;
  }

  /** Bytes `write()` would accept now. */
  get sendBufferFree(): number {
    return WRITABLE_STATES.has(this.#tcb.state) && !this.#tcb.finQueued
      ? this.#tcb.options.sendBufferSize - this.#tcb.sendQueue.length
      : 0;
  }

  /** Host bytes held for the guest: queued or in flight, not yet acknowledged. */
  get sendQueued(): number {
    return this.#tcb.sendQueue.length;
  }

  /** The window we would advertise now, in bytes. */
  get receiveWindow(): number {
    return receiveWindow(this.#tcb);
  }

  /** When `tick()` next has work, on the injected clock; undefined when no timer is pending. */
  nextDeadline(): number | undefined {
    return nextDeadline(this.#tcb);
  }

  /** Feeds a segment from the guest. */
  receive(segment: IncomingSegment): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.state === "closed") return;
      if (tcb.state === "syn-pending") segmentArrivesPending(tcb, segment);
      else if (tcb.state === "syn-sent") segmentArrivesSynSent(tcb, segment);
      else segmentArrivesSynchronized(tcb, segment);
    });
  }

  /** The flow is allowed and the host socket connected: send SYN-ACK. A no-op once closed. */
  accept(): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.state === "closed") return;
      this.#expectPending("accept");
      acceptSyn(tcb);
    });
  }

  /** The flow is denied or the host connect failed: RST the guest. A no-op once closed. */
  refuse(): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.state === "closed") return;
      this.#expectPending("refuse");
      refuseSyn(tcb, "refused");
    });
  }

  /**
   * Queues host data for the guest; returns how many bytes were taken (the rest: wait for `writable`).
   * Takes nothing once the host side closed or the connection is closing.
   */
  write(data: Uint8Array): TcpWriteOutput {
    let accepted = 0;
    const result = this.#run((tcb) => {
      accepted = Math.min(data.length, this.sendBufferFree);
      if (accepted < data.length && WRITABLE_STATES.has(tcb.state) && !tcb.finQueued) tcb.writeBlocked = true;
      if (accepted === 0) return;
      tcb.sendQueue.push(data.subarray(0, accepted));
      output(tcb);
    });
    return { ...result, accepted };
  }

  /** The host side has no more data (its socket ended): FIN after the queued data. */
  close(): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.finQueued || tcb.state === "closed") return;
      tcb.finQueued = true;
      hostCloseTransition(tcb);
      output(tcb);
    });
  }

  /** The host side failed: RST the guest and close at once. */
  abort(): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.state === "closed") return;
      if (tcb.state === "syn-pending") refuseSyn(tcb, "aborted");
      else {
        sendReset(tcb);
        finishClose(tcb, "aborted");
      }
    });
  }

  /** Forgets the connection without telling the guest (a TIME-WAIT flow being reused by a new SYN). */
  discard(): TcpOutput {
    return this.#run((tcb) => {
      finishClose(tcb, "normal");
    });
  }

  /** The host side has taken `bytes` of the data events: the receive window reopens (and is announced). */
  consumed(bytes: number): TcpOutput {
    return this.#run((tcb) => {
      if (tcb.state === "closed") return;
      tcb.rcvUnconsumed -= Math.max(0, Math.min(bytes, tcb.rcvUnconsumed));
      const threshold = Math.min(tcb.options.receiveBufferSize / 2, tcb.options.mss);
      if (!tcb.guestFinReceived && receiveWindow(tcb) - tcb.lastAdvertised >= threshold)
        tcb.ackPending = true;
      output(tcb);
    });
  }

  /** Runs the timers whose deadline has passed on the clock. */
  tick(): TcpOutput {
    return this.#run((tcb) => {
      fireTimers(tcb);
      if (tcb.state !== "closed") output(tcb);
    });
  }

  #expectPending(action: string): void {
    if (this.#tcb.state !== "syn-pending") {
      throw new InvalidStateError(`cannot ${action} a TCP connection in state ${this.#tcb.state}`);
    }
  }

  #run(step: (tcb: Tcb) => void): TcpOutput {
    const tcb = this.#tcb;
    tcb.out = { segments: [], events: [] };
    step(tcb);
    const result: TcpOutput = { flow: tcb.flow, segments: tcb.out.segments, events: tcb.out.events };
    if (tcb.state === "closed" && !this.#notified) {
      this.#notified = true;
      this.#onClosed?.(this);
    }
    return result;
  }
}
