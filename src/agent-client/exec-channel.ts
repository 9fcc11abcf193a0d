/**
 * The host side of one exec as a pull-based event source: events queue as they arrive and output credit goes
 * back to the agent only when the consumer takes the data, so a guest printing without end to a slow reader
 * holds at most one window of output in this process (and in every relay on the way).
 */
import type { MsbError } from "../errors.js";
import { AgentError, CommandNotFoundError, StreamLimitError, UnsupportedError } from "../errors.js";
import { INITIAL_WINDOW } from "../protocol/constants.js";
import type { ErrorMessage, ExecStartMessage } from "../protocol/messages.js";
import { MAX_STREAMS_PER_SESSION } from "../protocol/operations.js";
import type { AgentConnection } from "./connection.js";
import { errorOfReply } from "./reply-error.js";
import type { AgentStream } from "./stream.js";

/** One event of a running command, in the order the guest produced them. */
export type ExecEvent =
  | { readonly eventType: "started"; readonly pid: number }
  | { readonly eventType: "stdout"; readonly data: Buffer }
  | { readonly eventType: "stderr"; readonly data: Buffer }
  | {
      readonly eventType: "exited";
      /** Exit status; 128 + n when killed by signal n. */
      readonly code: number;
      /** The signal that killed it, 0 if it exited. */
      readonly signal: number;
      /** True when its `timeoutMs` expired and the agent killed it. */
      readonly timedOut: boolean;
    };

/** Output credit an exec channel grants: four protocol windows (a fixed bound on buffered output). */
export const EXEC_WINDOW_BYTES = 4 * INITIAL_WINDOW;

/** Maps an agent `error` reply of an exec to the typed error users catch (by code and field, never by text). */
export function execError(argv0: string, message: ErrorMessage): MsbError {
  if (message.code === "ENOENT" && message.field === "argv[0]") {
    return new CommandNotFoundError(argv0, message.message);
  }
  if (message.code === "ENOTSUP") return new UnsupportedError(message.field ?? "exec.start");
  if (message.code === "EAGAIN") return new StreamLimitError(MAX_STREAMS_PER_SESSION);
  const where = message.field === undefined ? "" : ` (${message.field})`;
  return new AgentError(message.code, `exec ${argv0}: ${message.message}${where}`);
}

type Waiter = { resolve: (event: ExecEvent | null) => void; reject: (error: Error) => void };

/** A started (or starting) exec. Create with {@link ExecChannel.open}. */
export class ExecChannel {
  readonly #stream: AgentStream;
  readonly #argv0: string;
  readonly #queue: ExecEvent[] = [];
  #waiter: Waiter | undefined;
  /** Set once the stream ended: `null` (clean end) or the error every later read gets. */
  #end: Error | null | undefined;
  #exit: Extract<ExecEvent, { eventType: "exited" }> | undefined;
  #resolveDone: () => void = () => undefined;
  /** Resolves when the stream has ended, however it ended. */
  readonly done: Promise<void> = new Promise((resolve) => {
    this.#resolveDone = resolve;
  });

  private constructor(connection: AgentConnection, message: ExecStartMessage) {
    this.#argv0 = message.argv[0] ?? "";
    this.#stream = connection.openStream(message, {
      onMessage: (m) => {
        if (m.type === "exec.started") this.#push({ eventType: "started", pid: m.pid });
        else if (m.type === "exec.exited") {
          this.#exit = { eventType: "exited", code: m.code, signal: m.signal, timedOut: m.timedOut };
          this.#push(this.#exit);
          this.#close(null);
        } else if (m.type === "error") this.#close(errorOfReply(m, (e) => execError(this.#argv0, e)));
      },
      onData: (channel, data) => {
        if (data.length > 0) this.#push({ eventType: channel, data });
      },
      onAbort: (error) => {
        this.#close(error);
      },
    });
    this.#stream.grant(EXEC_WINDOW_BYTES - INITIAL_WINDOW);
  }

  /** Sends `message` and returns the channel; throws `UnsupportedError` if the agent lacks a feature it needs. */
  static open(connection: AgentConnection, message: ExecStartMessage): ExecChannel {
    return new ExecChannel(connection, message);
  }

  /** The exit event, once it arrived. */
  get exit(): Extract<ExecEvent, { eventType: "exited" }> | undefined {
    return this.#exit;
  }

  /** True once the stream has ended (exit, error or lost connection). */
  get ended(): boolean {
    return this.#end !== undefined;
  }

  /**
   * The next event, `null` after the last. Taking a data event returns its bytes' credit to the agent. Rejects
   * with the operation's typed error (command not found...) or the connection's failure.
   */
  next(): Promise<ExecEvent | null> {
    const event = this.#queue.shift();
    if (event !== undefined) return Promise.resolve(this.#taken(event));
    if (this.#end !== undefined)
      return this.#end === null ? Promise.resolve(null) : Promise.reject(this.#end);
    if (this.#waiter !== undefined) return Promise.reject(new Error("another read is already waiting"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Writes to the process's stdin (in order; resolves once sent within the agent's credit). */
  write(data: Uint8Array): Promise<void> {
    return this.#stream.write(data);
  }

  /** Ends stdin after everything written before. */
  endInput(): Promise<void> {
    return this.#stream.endInput();
  }

  /** Sends signal `n` to the process group. */
  signal(n: number): void {
    this.#stream.send({ type: "exec.signal", signal: n });
  }

  /** Sets the terminal's window size (ignored by the agent without a terminal). */
  resize(rows: number, cols: number): void {
    this.#stream.send({ type: "exec.resize", rows, cols });
  }

  /**
   * Ends the exec early: the agent kills the process group and discards its output; queued output is dropped
   * here. The exit event still arrives (the stream always ends).
   */
  cancel(): void {
    const kept = this.#queue.filter((e) => e.eventType !== "stdout" && e.eventType !== "stderr");
    this.#queue.splice(0, this.#queue.length, ...kept);
    this.#stream.cancel();
  }

  #taken(event: ExecEvent): ExecEvent {
    if (event.eventType === "stdout" || event.eventType === "stderr")
      this.#stream.consumed(event.data.length);
    return event;
  }

  #push(event: ExecEvent): void {
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#queue.push(event);
      return;
    }
    this.#waiter = undefined;
    waiter.resolve(this.#taken(event));
  }

  #close(end: Error | null): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#resolveDone();
    const waiter = this.#waiter;
    if (waiter === undefined || this.#queue.length > 0) return;
    this.#waiter = undefined;
    if (end === null) waiter.resolve(null);
    else waiter.reject(end);
  }
}
