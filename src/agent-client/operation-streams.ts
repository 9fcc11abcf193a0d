/**
 * Operations that carry data, as Node streams: an operation's output as a `Readable` whose credit goes back to
 * the agent only as the consumer reads (memory stays bounded whatever the size), and an operation's input as a
 * `Writable` that finishes only once the agent's terminal reply arrived (for `fs.write`: the data is durable).
 * Destroying either before the end cancels the operation in the guest. A failure of the connection (not a reply of
 * the operation) passes through the stream's {@link StreamOptions.explain} first: the SDK turns a lost sandbox's
 * into a `SandboxCrashedError` there.
 */
import { Readable, Writable } from "node:stream";
import { INITIAL_WINDOW } from "../protocol/constants.js";
import type { AgentMessage, HostMessage } from "../protocol/messages.js";
import type { AgentConnection } from "./connection.js";
import { EXEC_WINDOW_BYTES } from "./exec-channel.js";
import { errorOfReply } from "./reply-error.js";
import type { ReplyError } from "./reply-error.js";
import type { AgentStream } from "./stream.js";

/** Options of {@link OperationReadable} and {@link OperationWritable}. */
export interface StreamOptions {
  /**
   * Maps a connection failure (the connection lost, a write that could not be sent) to the error the stream ends
   * with; the stream waits for it. Default: the failure itself.
   */
  readonly explain?: (error: Error) => Promise<unknown>;
}

/**
 * What `explain` makes of `err`, as an Error (what a stream can be destroyed with). Never rejects: without an
 * explanation, or when the explanation fails itself (its store unreadable), the failure stays as it was.
 */
export async function explainedError(
  explain: ((error: Error) => Promise<unknown>) | undefined,
  err: unknown,
): Promise<Error> {
  const error = err instanceof Error ? err : new Error(String(err));
  if (explain === undefined) return error;
  const mapped = await explain(error).then(
    (value) => value,
    () => error,
  );
  return mapped instanceof Error ? mapped : error;
}

/** The output of `message`'s operation (`fs.read`, `fs.list`, `fs.archive.read`...) as a byte stream. */
export class OperationReadable extends Readable {
  readonly #stream: AgentStream;
  /** Bytes pushed to the consumer whose credit we have not yet returned. */
  #owed = 0;
  #terminal: AgentMessage | undefined;

  constructor(
    connection: AgentConnection,
    message: HostMessage,
    toError: ReplyError,
    options: StreamOptions = {},
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.#stream = connection.openStream(message, {
      onData: (_channel, data) => {
        if (data.length === 0) return; // the channel's end; the terminal reply follows
        this.#owed += data.length;
        this.push(data);
      },
      onMessage: (reply) => {
        if (reply.type === "error") this.destroy(errorOfReply(reply, toError));
        else if (this.#stream.isFinished) {
          this.#terminal = reply;
          this.push(null);
        }
      },
      onAbort: (error) => {
        void explainedError(options.explain, error).then((mapped) => this.destroy(mapped));
      },
    });
    this.#stream.grant(EXEC_WINDOW_BYTES - INITIAL_WINDOW);
  }

  /** The terminal reply (`fs.done`...), once the stream ended. */
  get terminal(): AgentMessage | undefined {
    return this.#terminal;
  }

  override _read(): void {
    if (this.#owed === 0) return;
    this.#stream.consumed(this.#owed);
    this.#owed = 0;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#stream.isFinished) this.#stream.cancel();
    callback(error);
  }
}

/** The input of `message`'s operation (`fs.write`, `fs.archive.write`) as a byte sink. */
export class OperationWritable extends Writable {
  readonly #stream: AgentStream;
  readonly #done: Promise<AgentMessage>;
  #failure: Error | undefined;
  readonly #options: StreamOptions;

  constructor(
    connection: AgentConnection,
    message: HostMessage,
    toError: ReplyError,
    options: StreamOptions = {},
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.#options = options;
    let settle: { resolve: (m: AgentMessage) => void; reject: (e: Error) => void } | undefined;
    this.#done = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#done.catch(() => undefined); // observed through the stream's callbacks
    const fail = (error: Error): void => {
      this.#failure ??= error;
      settle?.reject(error);
    };
    this.#stream = connection.openStream(message, {
      onData: () => undefined,
      onMessage: (reply) => {
        if (reply.type === "error") fail(errorOfReply(reply, toError));
        else if (this.#stream.isFinished) settle?.resolve(reply);
      },
      onAbort: (error) => {
        // The connection is gone: the stream ends now, written to or not.
        void explainedError(options.explain, error).then((mapped) => {
          fail(mapped);
          this.destroy(mapped);
        });
      },
    });
  }

  /** Ends a write or the final flush with `err`, explained when it is not the operation's own failure. */
  #settle(err: unknown, callback: (error?: Error | null) => void): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (error === this.#failure) {
      callback(error);
      return;
    }
    void explainedError(this.#options.explain, error).then(callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#failure !== undefined) {
      callback(this.#failure);
      return;
    }
    this.#stream.write(chunk).then(
      () => {
        callback(this.#failure ?? null);
      },
      (err: unknown) => {
        this.#settle(err, callback);
      },
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#stream
      .endInput()
      .then(() => this.#done)
      .then(
        () => {
          callback();
        },
        (err: unknown) => {
          this.#settle(err, callback);
        },
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#stream.isFinished) this.#stream.cancel();
    callback(error ?? this.#failure ?? null);
  }
}
