/**
 * Host side of the agent protocol over any byte duplex (a unix socket to QEMU's chardev, or to an agent in
 * development mode). Performs the handshake, demultiplexes frames to {@link AgentStream}s and turns every
 * protocol violation by the guest into one {@link ProtocolError} that closes the connection: the guest cannot
 * crash or wedge the host process.
 */
import type { Duplex } from "node:stream";
import { ProtocolError } from "../errors.js";
import {
  FrameDecoder,
  FrameError,
  FrameKind,
  GUEST_STREAM_BASE,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  encodeFrame,
} from "../protocol/index.js";
import type { Frame } from "../protocol/index.js";
import {
  MessageError,
  encodeMessage,
  negotiateVersion,
  parseAgentHello,
  parseAgentMessage,
} from "../protocol/messages.js";
import type { AgentHello, AgentMessage, HostHello, HostMessage } from "../protocol/messages.js";
import { isReplyOf, isTerminal } from "../protocol/operations.js";
import { errorOfReply } from "./reply-error.js";
import type { ReplyError } from "./reply-error.js";
import { AgentStream } from "./stream.js";
import { TickWriter } from "./tick-writer.js";
import type { StreamListener } from "./stream.js";

/** Options of {@link AgentConnection.connect}. */
export interface ConnectOptions {
  /** Give up on the handshake after this long. Default 60 s (a TCG boot takes seconds). */
  timeoutMs?: number;
  /** Aborts the handshake (e.g. when the VM process exits first). */
  signal?: AbortSignal;
}

type PendingReply = { resolve: (m: AgentMessage) => void; reject: (e: Error) => void };

/** A handshaken connection to the guest agent. */
export class AgentConnection {
  /** The agent's HELLO (version, features, uptime). */
  readonly hello: AgentHello;
  /** The features of the HELLO, as a set. */
  readonly features: ReadonlySet<string>;
  private readonly socket: Duplex;
  private readonly writer: TickWriter;
  private readonly decoder: FrameDecoder;
  private readonly streams = new Map<number, AgentStream>();
  private readonly pending = new Map<string, PendingReply>();
  private nextStreamId = 1;
  private nextPingId = 1;
  private failure: Error | undefined;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  private constructor(socket: Duplex, decoder: FrameDecoder, hello: AgentHello, rest: Frame[]) {
    this.socket = socket;
    this.writer = new TickWriter(socket);
    this.decoder = decoder;
    this.hello = hello;
    this.features = new Set(hello.features);
    socket.on("data", (chunk: Buffer) => {
      this.receive(chunk);
    });
    socket.on("error", (err) => {
      this.fail(new ProtocolError(`agent connection failed: ${err.message}`, { cause: err }));
    });
    socket.on("close", () => {
      try {
        this.decoder.end();
      } catch (err) {
        this.fail(toProtocolError(err));
        return;
      }
      this.fail(new ProtocolError("agent connection closed"));
    });
    for (const frame of rest) this.dispatch(frame);
    socket.resume();
  }

  /** Sends the host HELLO on `socket` and waits for the agent's. */
  static async connect(socket: Duplex, options: ConnectOptions = {}): Promise<AgentConnection> {
    const decoder = new FrameDecoder();
    const hello: HostHello = {
      type: "hello",
      minVersion: MIN_PROTOCOL_VERSION,
      maxVersion: MAX_PROTOCOL_VERSION,
      timeMs: Date.now(),
    };
    socket.write(encodeFrame(0, FrameKind.HELLO, encodeMessage(hello)));
    const [agentHello, rest] = await readHello(socket, decoder, options);
    const version = negotiateVersion(
      [MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION],
      [agentHello.minVersion, agentHello.maxVersion],
    );
    if (version === 0 || agentHello.version !== version) {
      socket.destroy();
      throw new ProtocolError(
        `agent speaks protocol ${agentHello.minVersion}..${agentHello.maxVersion}, host ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
        { code: "MSB_ERR_PROTOCOL_VERSION", hint: "rebuild the guest runtime with `npx msb setup`" },
      );
    }
    return new AgentConnection(socket, decoder, agentHello, rest);
  }

  /** The error that closed the connection, if it is closed. */
  get closedBy(): Error | undefined {
    return this.failure;
  }

  /** Registers a callback for when the connection closes or fails (called at most once). */
  onClose(listener: (error: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /**
   * Opens a stream with its opening message; its events go to `listener`. Throws `UnsupportedError` when the
   * agent lacks the operation's feature (nothing is sent then).
   */
  openStream(message: HostMessage, listener: StreamListener): AgentStream {
    if (this.failure) throw this.failure;
    const id = this.nextStreamId;
    if (id >= GUEST_STREAM_BASE) throw new ProtocolError("stream ids exhausted on this connection");
    const stream = new AgentStream(id, this, listener);
    stream.open(message);
    this.nextStreamId++;
    this.streams.set(id, stream);
    return stream;
  }

  /** Round trip on stream 0; resolves with the latency in milliseconds. */
  async ping(): Promise<number> {
    const id = this.nextPingId++;
    const started = performance.now();
    await this.request({ type: "ping", id }, `pong:${id}`);
    return performance.now() - started;
  }

  /**
   * Runs a single-reply operation (`stats`, `sup.stats`...) on a stream of its own and resolves with its
   * terminal reply; an `error` reply rejects with the supervisor's typed error it carries, else `toError(reply)`.
   */
  call(message: HostMessage, toError: ReplyError): Promise<AgentMessage> {
    return new Promise((resolve, reject) => {
      const stream = this.openStream(message, {
        onMessage: (reply) => {
          if (reply.type === "error") reject(errorOfReply(reply, toError));
          else if (stream.isFinished) resolve(reply);
        },
        onData: () => undefined,
        onAbort: reject,
      });
    });
  }

  /** Streams open on this connection (not yet finished). */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Asks the agent to stop every process, sync and power off; resolves on its acknowledgement. */
  async shutdown(): Promise<void> {
    await this.request({ type: "shutdown" }, "shutdown.ack");
  }

  /** Closes the connection; open streams are aborted. */
  close(): void {
    this.fail(new ProtocolError("agent connection closed by the host"));
  }

  /** @internal Used by streams. */
  writeFrame(frame: Buffer): void {
    if (this.failure) throw this.failure;
    this.writer.write(frame);
  }

  private request(message: HostMessage, key: string): Promise<AgentMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(key, { resolve, reject });
      this.writeFrame(encodeFrame(0, FrameKind.CONTROL, encodeMessage(message)));
    });
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(toProtocolError(err));
      return;
    }
    for (const frame of frames) {
      if (this.closedBy) return; // an earlier frame of this chunk failed the connection
      this.dispatch(frame);
    }
  }

  private dispatch(frame: Frame): void {
    try {
      this.route(frame);
    } catch (err) {
      this.fail(toProtocolError(err));
    }
  }

  private route(frame: Frame): void {
    if (frame.stream === 0) {
      this.routeConnectionFrame(frame);
      return;
    }
    const stream = this.streams.get(frame.stream);
    if (!stream) throw new ProtocolError(`agent sent kind ${frame.kind} on unknown stream ${frame.stream}`);
    switch (frame.kind) {
      case FrameKind.CONTROL: {
        const message = parseAgentMessage(frame.payload);
        const op = stream.operation;
        if (op === undefined || !isReplyOf(op, message.type)) {
          throw new ProtocolError(`agent sent ${message.type} on a stream of ${op?.open ?? "no operation"}`);
        }
        const terminal = isTerminal(op, message.type);
        if (terminal) this.streams.delete(frame.stream);
        stream.receiveMessage(message, terminal, frame.payload);
        return;
      }
      case FrameKind.STDOUT:
      case FrameKind.STDERR: {
        const overrun = stream.receiveData(
          frame.kind === FrameKind.STDOUT ? "stdout" : "stderr",
          frame.payload,
        );
        if (overrun) throw new ProtocolError(overrun);
        return;
      }
      case FrameKind.WINDOW:
        stream.receiveWindow(frame.payload.readUInt32BE(0));
        return;
      case FrameKind.HELLO:
      case FrameKind.STDIN:
      case FrameKind.CONTINUE:
        throw new ProtocolError(`agent sent a frame of host-only kind ${frame.kind}`);
    }
  }

  private routeConnectionFrame(frame: Frame): void {
    if (frame.kind !== FrameKind.CONTROL) {
      throw new ProtocolError(`agent sent kind ${frame.kind} on stream 0 after the handshake`);
    }
    const message = parseAgentMessage(frame.payload);
    const key = message.type === "pong" ? `pong:${message.id}` : message.type;
    const waiter = this.pending.get(key);
    if (!waiter) throw new ProtocolError(`unexpected ${message.type} on stream 0`);
    this.pending.delete(key);
    waiter.resolve(message);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.writer.flush();
    this.socket.destroy();
    for (const stream of this.streams.values()) stream.abort(error);
    this.streams.clear();
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}

function toProtocolError(err: unknown): Error {
  if (err instanceof ProtocolError) return err;
  if (err instanceof FrameError || err instanceof MessageError) {
    return new ProtocolError(`agent protocol violation: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new ProtocolError(String(err));
}

/** No HELLO came from the agent within the handshake's time limit (a `ProtocolError`, told apart by class). */
export class HandshakeTimeoutError extends ProtocolError {
  /** The limit that passed. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no agent handshake within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Reads frames until the agent's HELLO; anything else first is a protocol error. */
function readHello(
  socket: Duplex,
  decoder: FrameDecoder,
  options: ConnectOptions,
): Promise<[AgentHello, Frame[]]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.pause();
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const settle = (err: Error | undefined, value?: [AgentHello, Frame[]]): void => {
      cleanup();
      if (err) {
        socket.destroy();
        reject(err);
      } else if (value) resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        settle(toProtocolError(err));
        return;
      }
      const [first, ...rest] = frames;
      if (!first) return;
      if (first.kind !== FrameKind.HELLO) {
        settle(new ProtocolError(`agent sent kind ${first.kind} before its HELLO`));
        return;
      }
      try {
        settle(undefined, [parseAgentHello(first.payload), rest]);
      } catch (err) {
        settle(toProtocolError(err));
      }
    };
    const onError = (err: Error): void => {
      settle(
        new ProtocolError(`agent connection failed during the handshake: ${err.message}`, { cause: err }),
      );
    };
    const onClose = (): void => {
      settle(new ProtocolError("agent connection closed during the handshake"));
    };
    const onAbort = (): void => {
      settle(options.signal?.reason instanceof Error ? options.signal.reason : new ProtocolError("aborted"));
    };
    const timer = setTimeout(() => {
      settle(new HandshakeTimeoutError(timeoutMs));
    }, timeoutMs);
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort);
  });
}
