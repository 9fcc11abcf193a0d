/**
 * Streaming execution, shaped as the seed's `ExecHandle` and `ExecSink`, plus an async iterator, `resize()` and
 * `await using`. Output credit goes back to the guest only as events are read, so a command printing without
 * end to a slow reader holds a fixed amount of memory here and in the supervisor.
 */
import type { ExecChannel, ExecEvent } from "../agent-client/exec-channel.js";
import { collectExec } from "../agent-client/exec.js";
import { InvalidConfigError, InvalidStateError } from "../errors.js";
import { ExecOutput } from "./exec-output.js";
import type { ExitStatus } from "./exec-output.js";

/** Writable standard input of a streaming exec (from `ExecHandle.takeStdin()`). */
export class ExecSink {
  readonly #channel: ExecChannel;
  #closed = false;

  /** @internal */
  constructor(channel: ExecChannel) {
    this.#channel = channel;
  }

  /** Writes bytes (a string is UTF-8); resolves once they were sent within the guest's credit. */
  async write(data: Uint8Array | string): Promise<void> {
    if (this.#closed) throw new InvalidStateError("stdin is already closed");
    if (this.#channel.ended) return; // the process is gone: its input goes nowhere
    await this.#channel.write(typeof data === "string" ? Buffer.from(data) : data);
  }

  /** Ends the input (the process reads EOF) after everything written before. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#channel.endInput();
  }
}

/** What {@link ExecHandle} is made of. */
export interface ExecHandleInit {
  readonly channel: ExecChannel;
  /** The `started` event, already read while starting. */
  readonly started: ExecEvent;
  /** Turns a failure into the sandbox's own (a lost sandbox is a `SandboxCrashedError`). */
  readonly explain?: (err: unknown) => Promise<unknown>;
  /** Whether stdin is a pipe the caller writes. */
  readonly pipedStdin: boolean;
  readonly maxOutputBytes?: number | undefined;
}

/** A running command's events, stdin and controls. Returned by `Sandbox.execStream()`. */
export class ExecHandle implements AsyncIterable<ExecEvent>, AsyncDisposable {
  /** Identifier of this execution (its guest pid and a host sequence). */
  readonly id: string;
  /** The command's process id in the guest. */
  readonly pid: number;
  readonly #channel: ExecChannel;
  #first: ExecEvent | undefined;
  #stdin: ExecSink | null;
  readonly #maxOutputBytes: number | undefined;
  readonly #explain: (err: unknown) => Promise<unknown>;

  /** @internal */
  constructor(init: ExecHandleInit) {
    this.#channel = init.channel;
    this.#first = init.started;
    this.pid = init.started.eventType === "started" ? init.started.pid : 0;
    this.id = `exec-${this.pid}-${Date.now().toString(36)}`;
    this.#stdin = init.pipedStdin ? new ExecSink(init.channel) : null;
    this.#maxOutputBytes = init.maxOutputBytes;
    this.#explain = init.explain ?? ((err) => Promise.resolve(err));
  }

  async #explained<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (err) {
      throw await this.#explain(err);
    }
  }

  /**
   * The next event (`started`, `stdout`, `stderr`, `exited`), or `null` after the last. Rejects with a typed
   * error if the sandbox went away.
   */
  recv(): Promise<ExecEvent | null> {
    const first = this.#first;
    if (first !== undefined) {
      this.#first = undefined;
      return Promise.resolve(first);
    }
    return this.#explained(this.#channel.next());
  }

  /** `for await (const event of handle)`: every event to the end. */
  async *[Symbol.asyncIterator](): AsyncIterator<ExecEvent> {
    for (let event = await this.recv(); event !== null; event = await this.recv()) yield event;
  }

  /** Waits for the command to exit, discarding output not yet read. */
  async wait(): Promise<ExitStatus> {
    while ((await this.recv()) !== null) {
      // discard
    }
    const exit = this.#channel.exit;
    if (exit === undefined) throw new InvalidStateError("the exec ended without an exit status");
    return { code: exit.code, success: exit.code === 0 };
  }

  /** Collects the output not yet read and the exit status (bounded by `maxOutputBytes`, default 256 MiB). */
  async collect(): Promise<ExecOutput> {
    this.#first = undefined; // only ever the `started` event, which carries no output
    return new ExecOutput(await this.#explained(collectExec(this.#channel, this.#maxOutputBytes)));
  }

  /** The stdin writer, once (`null` later, or when stdin is not `"pipe"`). */
  async takeStdin(): Promise<ExecSink | null> {
    await Promise.resolve();
    const sink = this.#stdin;
    this.#stdin = null;
    return sink;
  }

  /** Sends signal `n` (1–64) to the command's process group. */
  async signal(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidConfigError("signal", "must be 1 to 64");
    await Promise.resolve();
    if (!this.#channel.ended) this.#channel.signal(n);
  }

  /** Kills the command's process group (SIGKILL); its exit event still follows. */
  kill(): Promise<void> {
    return this.signal(9);
  }

  /** Sets the terminal's window size (commands run with `tty`); the foreground process gets SIGWINCH. */
  async resize(rows: number, cols: number): Promise<void> {
    const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
    if (!ok(rows) || !ok(cols)) throw new InvalidConfigError("tty", "rows and cols must be 1 to 65535");
    await Promise.resolve();
    if (!this.#channel.ended) this.#channel.resize(rows, cols);
  }

  /** `await using`: a command still running is killed, its output discarded, and the stream ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#first = undefined;
    if (!this.#channel.ended) this.#channel.cancel();
    await this.#channel.done;
  }
}
