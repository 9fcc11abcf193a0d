/**
 * One multiplexed stream of an {@link AgentConnection}: the host side of one operation (an exec, an init...).
 * Tracks both flow-control windows: the credit we may still send (STDIN) and the credit we still owe the agent
 * for output we consumed.
 */
import { FrameKind, INITIAL_WINDOW, MAX_DATA_CHUNK, encodeFrame, encodeWindow } from "../protocol/index.js";
import { encodeMessage } from "../protocol/messages.js";
import type { AgentMessage, HostMessage } from "../protocol/messages.js";

/** Output channel of a stream. */
export type OutputChannel = "stdout" | "stderr";

/** What a stream reports to its consumer. Calls arrive in wire order. */
export interface StreamListener {
  /** A control message from the agent. A terminal one (`error`, `exec.exited`, `init.done`...) is last. */
  onMessage(message: AgentMessage): void;
  /** Output bytes; an empty buffer marks the end of that channel. */
  onData(channel: OutputChannel, data: Buffer): void;
  /** The connection failed or closed before the stream finished. */
  onAbort(error: Error): void;
}

/** The part of the connection a stream needs: a frame sink. */
export interface FrameSink {
  writeFrame(frame: Buffer): void;
}

/** Host side of one stream. Created by `AgentConnection.openStream()`. */
export class AgentStream {
  /** Stream id on the wire. */
  readonly id: number;
  private readonly sink: FrameSink;
  private readonly listener: StreamListener;
  private sendCredit = INITIAL_WINDOW;
  private receiveBudget = INITIAL_WINDOW;
  private unacknowledged = 0;
  private creditWaiters: (() => void)[] = [];
  private finished = false;

  /** @internal */
  constructor(id: number, sink: FrameSink, listener: StreamListener) {
    this.id = id;
    this.sink = sink;
    this.listener = listener;
  }

  /** True once a terminal message arrived or the connection aborted the stream. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Sends a control message on this stream. */
  send(message: HostMessage): void {
    this.sink.writeFrame(encodeFrame(this.id, FrameKind.CONTROL, encodeMessage(message)));
  }

  /** Sends input bytes, waiting for credit from the agent as needed. */
  async write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.finished) return;
      if (this.sendCredit === 0) {
        await new Promise<void>((resolve) => this.creditWaiters.push(resolve));
        continue;
      }
      const n = Math.min(data.length - offset, this.sendCredit, MAX_DATA_CHUNK);
      this.sendCredit -= n;
      this.sink.writeFrame(encodeFrame(this.id, FrameKind.STDIN, data.subarray(offset, offset + n)));
      offset += n;
    }
  }

  /** Ends the input channel (an empty STDIN frame). */
  endInput(): void {
    if (!this.finished) this.sink.writeFrame(encodeFrame(this.id, FrameKind.STDIN));
  }

  /**
   * Tells the agent that `bytes` of output were consumed, returning credit in batches of half a window.
   * Collectors call it as data arrives; streaming consumers call it when their reader took the data.
   */
  consumed(bytes: number): void {
    this.unacknowledged += bytes;
    if (this.unacknowledged >= INITIAL_WINDOW / 2 && !this.finished) {
      this.receiveBudget += this.unacknowledged;
      this.sink.writeFrame(encodeWindow(this.id, this.unacknowledged));
      this.unacknowledged = 0;
    }
  }

  /** @internal Output from the wire. Returns an error message if the agent overran its window. */
  receiveData(channel: OutputChannel, data: Buffer): string | undefined {
    if (data.length > this.receiveBudget) {
      return `stream ${this.id}: agent sent ${data.length} bytes with ${this.receiveBudget} bytes of credit`;
    }
    this.receiveBudget -= data.length;
    this.listener.onData(channel, data);
    return undefined;
  }

  /** @internal Credit from the wire. */
  receiveWindow(credit: number): void {
    this.sendCredit = Math.min(this.sendCredit + credit, 0xffff_ffff);
    const waiters = this.creditWaiters;
    this.creditWaiters = [];
    for (const wake of waiters) wake();
  }

  /** @internal A control message from the wire; `terminal` closes the stream. */
  receiveMessage(message: AgentMessage, terminal: boolean): void {
    if (terminal) this.finish();
    this.listener.onMessage(message);
  }

  /** @internal The connection went away. */
  abort(error: Error): void {
    if (this.finished) return;
    this.finish();
    this.listener.onAbort(error);
  }

  private finish(): void {
    this.finished = true;
    const waiters = this.creditWaiters;
    this.creditWaiters = [];
    for (const wake of waiters) wake();
  }
}
