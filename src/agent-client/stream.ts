/**
 * One multiplexed stream of an {@link AgentConnection}: the host side of one operation (an exec, an init...).
 * The operation table says what may be sent and received on it. Tracks both flow-control windows: the credit we
 * may still send (STDIN) and the credit we granted the peer for output.
 */
import { UnsupportedError } from "../errors.js";
import {
  FrameKind,
  INITIAL_WINDOW,
  MAX_DATA_CHUNK,
  MAX_PAYLOAD,
  encodeControl,
  encodeFrame,
  encodeWindow,
} from "../protocol/index.js";
import { encodeMessage } from "../protocol/messages.js";
import type { AgentMessage, HostMessage } from "../protocol/messages.js";
import { followUpOf, operationOf } from "../protocol/operations.js";
import type { OperationSpec } from "../protocol/operations.js";

/** Output channel of a stream. */
export type OutputChannel = "stdout" | "stderr";

/** What a stream reports to its consumer. Calls arrive in wire order. */
export interface StreamListener {
  /**
   * A control message from the peer. A terminal one (`error`, `exec.exited`, `init.done`...) is last. `payload`
   * is the JSON it was parsed from, already validated: a relay forwards it as it came instead of encoding again.
   */
  onMessage(message: AgentMessage, payload: Buffer): void;
  /** Output bytes; an empty buffer marks the end of that channel. */
  onData(channel: OutputChannel, data: Buffer): void;
  /** The connection failed or closed before the stream finished. */
  onAbort(error: Error): void;
}

/** The part of the connection a stream needs: a frame sink and the peer's features. */
export interface FrameSink {
  writeFrame(frame: Buffer): void;
  /** Features the peer listed in its HELLO. */
  readonly features: ReadonlySet<string>;
}

/** Host side of one stream. Created by `AgentConnection.openStream()`. */
export class AgentStream {
  /** Stream id on the wire. */
  readonly id: number;
  readonly #sink: FrameSink;
  readonly #listener: StreamListener;
  #op: OperationSpec | undefined;
  #sendCredit = INITIAL_WINDOW;
  #receiveBudget = INITIAL_WINDOW;
  #unacknowledged = 0;
  #creditWaiters: (() => void)[] = [];
  /** Input is written in order: each write and the end of input wait for the ones before. */
  #inputChain: Promise<void> = Promise.resolve();
  #inputEnded = false;
  #finished = false;

  /** @internal */
  constructor(id: number, sink: FrameSink, listener: StreamListener) {
    this.id = id;
    this.#sink = sink;
    this.#listener = listener;
  }

  /** True once a terminal message arrived or the connection aborted the stream. */
  get isFinished(): boolean {
    return this.#finished;
  }

  /** The operation this stream runs (set by {@link open}). */
  get operation(): OperationSpec | undefined {
    return this.#op;
  }

  /**
   * Sends the opening message. Throws {@link UnsupportedError} when the peer lacks the operation's feature (or,
   * for an exec on a terminal, `exec.tty`), a plain Error for a type that opens no operation (a bug).
   */
  open(message: HostMessage): void {
    const op = operationOf(message.type);
    if (op === undefined) throw new Error(`${message.type} opens no operation`);
    if (this.#op !== undefined) throw new Error(`stream ${this.id} is already open`);
    this.#require(op.feature);
    if (message.type === "exec.start" && message.tty !== undefined) this.#require("exec.tty");
    const payload = encodeMessage(message);
    if (payload.length > MAX_PAYLOAD) this.#require("control.continue");
    this.#op = op;
    this.#sink.writeFrame(encodeControl(this.id, payload));
  }

  /** Sends a follow-up message the operation allows; nothing once the stream finished. */
  send(message: HostMessage): void {
    const op = this.#op;
    const follow = op && followUpOf(op, message.type);
    if (follow === undefined)
      throw new Error(`${message.type} is not a follow-up of ${op?.open ?? "nothing"}`);
    this.#require(follow.feature);
    if (!this.#finished) this.#sink.writeFrame(encodeControl(this.id, encodeMessage(message)));
  }

  /** True when the peer supports `feature`. */
  supports(feature: string): boolean {
    return this.#sink.features.has(feature);
  }

  /**
   * Ends the operation early: `stream.cancel` (the agent kills the process and discards its output), or on an
   * agent without it SIGKILL to the process group. The terminal message still arrives.
   */
  cancel(): void {
    if (this.#finished) return;
    if (this.supports("stream.cancel")) this.send({ type: "stream.cancel" });
    else this.send({ type: "exec.signal", signal: 9 });
  }

  /** Sends input bytes in order, waiting for credit from the peer as needed. Resolves once they are sent. */
  write(data: Uint8Array): Promise<void> {
    if (this.#inputEnded) return Promise.reject(new Error("input already ended"));
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const run = this.#inputChain.then(() => this.#send(bytes));
    this.#inputChain = run.catch(() => undefined);
    return run;
  }

  /** Ends the input channel (an empty STDIN frame) after everything written before. */
  endInput(): Promise<void> {
    if (this.#inputEnded) return this.#inputChain;
    this.#inputEnded = true;
    const run = this.#inputChain.then(() => {
      if (!this.#finished) this.#sink.writeFrame(encodeFrame(this.id, FrameKind.STDIN));
    });
    this.#inputChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Tells the peer that `bytes` of output were consumed, returning credit in batches of half a window.
   * Collectors call it as data arrives; streaming consumers call it when their reader took the data.
   */
  consumed(bytes: number): void {
    this.#unacknowledged += bytes;
    if (this.#unacknowledged >= INITIAL_WINDOW / 2) {
      const n = this.#unacknowledged;
      this.#unacknowledged = 0;
      this.grant(n);
    }
  }

  /** Grants the peer `bytes` more output credit at once (relays forward their client's grants with it). */
  grant(bytes: number): void {
    if (this.#finished || bytes <= 0) return;
    this.#receiveBudget += bytes;
    this.#sink.writeFrame(encodeWindow(this.id, bytes));
  }

  async #send(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      if (this.#finished) return;
      if (this.#sendCredit === 0) {
        await new Promise<void>((resolve) => this.#creditWaiters.push(resolve));
        continue;
      }
      const n = Math.min(data.length - offset, this.#sendCredit, MAX_DATA_CHUNK);
      this.#sendCredit -= n;
      this.#sink.writeFrame(encodeFrame(this.id, FrameKind.STDIN, data.subarray(offset, offset + n)));
      offset += n;
    }
  }

  #require(feature: string | null): void {
    if (feature !== null && !this.#sink.features.has(feature)) throw new UnsupportedError(feature);
  }

  /** @internal Output from the wire. Returns an error message if the peer broke the protocol. */
  receiveData(channel: OutputChannel, data: Buffer): string | undefined {
    if (this.#op?.output !== true) return `stream ${this.id}: output on an operation without output`;
    if (data.length > this.#receiveBudget) {
      return `stream ${this.id}: peer sent ${data.length} bytes with ${this.#receiveBudget} bytes of credit`;
    }
    this.#receiveBudget -= data.length;
    this.#listener.onData(channel, data);
    return undefined;
  }

  /** @internal Credit from the wire. */
  receiveWindow(credit: number): void {
    this.#sendCredit = Math.min(this.#sendCredit + credit, 0xffff_ffff);
    this.#wake();
  }

  /** @internal A control message from the wire; `terminal` closes the stream. */
  receiveMessage(message: AgentMessage, terminal: boolean, payload: Buffer): void {
    if (terminal) this.#finish();
    this.#listener.onMessage(message, payload);
  }

  /** @internal The connection went away. */
  abort(error: Error): void {
    if (this.#finished) return;
    this.#finish();
    this.#listener.onAbort(error);
  }

  #finish(): void {
    this.#finished = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#creditWaiters;
    this.#creditWaiters = [];
    for (const wake of waiters) wake();
  }
}
