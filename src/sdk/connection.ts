/**
 * The SDK's connection to a sandbox supervisor: an `AgentConnection` over the control socket that keeps the
 * Node event loop alive only while a request is in flight, so a script that forgets to stop its sandbox still
 * exits (and the attached sandbox stops with it).
 */
import { createConnection } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { AgentConnection } from "../agent-client/connection.js";
import type { ExecChannel } from "../agent-client/exec-channel.js";
import { execCollect, startExec } from "../agent-client/exec.js";
import type { ExecRequest, ExecResult } from "../agent-client/exec.js";
import { AgentError } from "../errors.js";
import type { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { AgentMessage, HostMessage } from "../protocol/messages.js";
import { OperationReadable, OperationWritable } from "../agent-client/operation-streams.js";
import type { StreamOptions } from "../agent-client/operation-streams.js";
import type { ReplyError } from "../agent-client/reply-error.js";
import { CONTROL_SOCKET } from "../supervisor/spec.js";

/** Agent errors become an `AgentError` naming the operation (the supervisor's own keep their class). */
function defaultReplyError(message: HostMessage): ReplyError {
  return (reply) => new AgentError(reply.code, `${message.type}: ${reply.message}`);
}

/** A connection to one sandbox's supervisor. */
export class SupervisorConnection {
  readonly #socket: Socket;
  readonly #agent: AgentConnection;
  #inFlight = 0;

  private constructor(socket: Socket, agent: AgentConnection) {
    this.#socket = socket;
    this.#agent = agent;
    socket.unref();
  }

  /** Connects to the supervisor whose sockets are in `runDir`. */
  static async open(runDir: string): Promise<SupervisorConnection> {
    const socket = createConnection(join(runDir, CONTROL_SOCKET));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const agent = await AgentConnection.connect(socket, { timeoutMs: 10_000 });
    return new SupervisorConnection(socket, agent);
  }

  /** The error that closed the connection, if it is closed. */
  get closedBy(): Error | undefined {
    return this.#agent.closedBy;
  }

  /** Runs a command and collects its output. */
  exec(request: ExecRequest): Promise<ExecResult> {
    return this.#busy(() => execCollect(this.#agent, request));
  }

  /** Starts a command whose events the caller reads; the connection keeps the process alive until it ends. */
  startExec(request: ExecRequest): ExecChannel {
    const channel = startExec(this.#agent, request);
    void this.#busy(() => channel.done);
    return channel;
  }

  /**
   * Runs a single-reply operation (`stats`, `sup.stats`, `fs.stat`...) and resolves with its reply; an `error`
   * reply rejects with `toError(reply)` (default: the supervisor's typed error, else an `AgentError`).
   */
  call(message: HostMessage, toError: ReplyError = defaultReplyError(message)): Promise<AgentMessage> {
    return this.#busy(() => this.#agent.call(message, toError));
  }

  /** The output of an operation as a stream (credit returned as it is read). */
  readable(
    message: HostMessage,
    toError: ReplyError = defaultReplyError(message),
    options: StreamOptions = {},
  ): OperationReadable {
    const stream = new OperationReadable(this.#agent, message, toError, options);
    this.#holdWhile(stream);
    return stream;
  }

  /** The input of an operation as a stream that finishes once the operation's terminal reply arrived. */
  writable(
    message: HostMessage,
    toError: ReplyError = defaultReplyError(message),
    options: StreamOptions = {},
  ): OperationWritable {
    const stream = new OperationWritable(this.#agent, message, toError, options);
    this.#holdWhile(stream);
    return stream;
  }

  /** Keeps the process alive while `stream` is open. */
  #holdWhile(stream: Readable | Writable): void {
    void this.#busy(() => finished(stream).catch(() => undefined));
  }

  /** Asks the supervisor to stop the sandbox; resolves when the stop is under way. */
  requestStop(): Promise<void> {
    return this.#busy(() => this.#agent.shutdown());
  }

  /** Resolves when the supervisor closes the connection (the sandbox stopped or crashed). */
  closed(): Promise<Error> {
    return this.#busy(
      () =>
        new Promise<Error>((resolve) => {
          this.#agent.onClose(resolve);
        }),
    );
  }

  /** Closes the connection. */
  close(): void {
    this.#agent.close();
  }

  async #busy<T>(run: () => Promise<T>): Promise<T> {
    if (this.#inFlight++ === 0) this.#socket.ref();
    try {
      return await run();
    } finally {
      if (--this.#inFlight === 0) this.#socket.unref();
    }
  }
}
