/**
 * The supervisor's side of one SDK client connection. The client speaks the agent protocol (the SDK reuses
 * `AgentConnection`); this session answers its HELLO itself and relays each client stream onto a stream of the
 * VM's single agent connection, keeping the client's stream ids, forwarding credit both ways (end-to-end
 * backpressure) and killing the client's processes if it disconnects. Connection-level requests (`shutdown`)
 * go to the supervisor.
 */
import type { Socket } from "node:net";
import type { AgentConnection } from "../agent-client/connection.js";
import type { AgentStream } from "../agent-client/stream.js";
import {
  FrameDecoder,
  FrameKind,
  GUEST_STREAM_BASE,
  INITIAL_WINDOW,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  encodeFrame,
  encodeWindow,
} from "../protocol/index.js";
import type { Frame } from "../protocol/index.js";
import { negotiateVersion } from "../protocol/messages.js";
import type { AgentMessage } from "../protocol/messages.js";
import { parseClientHello, parseClientMessage } from "./client-messages.js";

/** What the session needs from the supervisor. */
export interface SessionHost {
  /** The VM's agent connection. */
  readonly agent: AgentConnection;
  /** A client asked to stop the sandbox; resolves once the stop is under way. */
  requestStop(): Promise<void>;
}

interface RelayedStream {
  readonly upstream: AgentStream;
  /** STDIN bytes the client may still send before we grant more. */
  inputBudget: number;
}

/** One connected SDK client. */
export class ClientSession {
  private readonly socket: Socket;
  private readonly host: SessionHost;
  private readonly decoder = new FrameDecoder();
  private readonly streams = new Map<number, RelayedStream>();
  private greeted = false;
  private closed = false;

  constructor(socket: Socket, host: SessionHost) {
    this.socket = socket;
    this.host = host;
    socket.on("data", (chunk: Buffer) => {
      this.receive(chunk);
    });
    socket.on("error", () => {
      this.close();
    });
    socket.on("close", () => {
      this.close();
    });
  }

  /** Ends the session; streams still running are killed in the guest. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) {
      if (!stream.upstream.isFinished) stream.upstream.send({ type: "exec.signal", signal: 9 });
    }
    this.streams.clear();
    this.socket.destroy();
  }

  private send(frame: Buffer): void {
    if (!this.closed) this.socket.write(frame);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const frame of this.decoder.push(chunk)) this.route(frame);
    } catch (err) {
      process.emitWarning(`closing a client session: ${(err as Error).message}`, { code: "MSB_CLIENT" });
      this.close();
    }
  }

  private route(frame: Frame): void {
    if (!this.greeted) {
      if (frame.kind !== FrameKind.HELLO) throw new Error("client sent a frame before its HELLO");
      this.greet(frame);
      return;
    }
    if (frame.stream === 0) {
      this.routeConnection(frame);
      return;
    }
    if (frame.stream >= GUEST_STREAM_BASE) throw new Error(`client used reserved stream id ${frame.stream}`);
    switch (frame.kind) {
      case FrameKind.CONTROL:
        this.routeControl(frame);
        return;
      case FrameKind.STDIN:
        this.routeInput(frame);
        return;
      case FrameKind.WINDOW:
        this.streams.get(frame.stream)?.upstream.consumed(frame.payload.readUInt32BE(0));
        return;
      case FrameKind.HELLO:
      case FrameKind.STDOUT:
      case FrameKind.STDERR:
        throw new Error(`client sent frame kind ${frame.kind} on stream ${frame.stream}`);
    }
  }

  private greet(frame: Frame): void {
    const hello = parseClientHello(frame.payload);
    const agent = this.host.agent.hello;
    const version = negotiateVersion(
      [MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION],
      [hello.minVersion, hello.maxVersion],
    );
    const reply = {
      type: "hello",
      minVersion: MIN_PROTOCOL_VERSION,
      maxVersion: MAX_PROTOCOL_VERSION,
      version,
      agentVersion: agent.agentVersion,
      features: agent.features,
      uptimeMs: agent.uptimeMs,
    };
    this.send(encodeFrame(0, FrameKind.HELLO, Buffer.from(JSON.stringify(reply))));
    if (version === 0) throw new Error("client speaks no common protocol version");
    this.greeted = true;
  }

  private routeConnection(frame: Frame): void {
    if (frame.kind !== FrameKind.CONTROL) throw new Error(`client sent kind ${frame.kind} on stream 0`);
    const message = parseClientMessage(frame.payload);
    const reply = (m: AgentMessage): void => {
      this.send(encodeFrame(0, FrameKind.CONTROL, Buffer.from(JSON.stringify(m))));
    };
    if (message.type === "ping") reply({ type: "pong", id: message.id });
    else if (message.type === "shutdown") {
      void this.host.requestStop().then(() => {
        reply({ type: "shutdown.ack" });
      });
    } else throw new Error(`${message.type} is not a connection-level request`);
  }

  private routeControl(frame: Frame): void {
    const message = parseClientMessage(frame.payload);
    const existing = this.streams.get(frame.stream);
    if (message.type === "exec.signal") {
      existing?.upstream.send(message);
      return;
    }
    if (message.type !== "exec.start") throw new Error(`clients cannot send ${message.type} on a stream`);
    if (existing) throw new Error(`stream ${frame.stream} is already open`);
    const id = frame.stream;
    const upstream = this.host.agent.openStream({
      onMessage: (m) => {
        this.send(encodeFrame(id, FrameKind.CONTROL, Buffer.from(JSON.stringify(m))));
        if (m.type === "error" || m.type === "exec.exited") this.streams.delete(id);
      },
      onData: (channel, data) => {
        this.send(encodeFrame(id, channel === "stdout" ? FrameKind.STDOUT : FrameKind.STDERR, data));
      },
      onAbort: (error) => {
        const m: AgentMessage = {
          type: "error",
          code: "EIO",
          message: `sandbox agent lost: ${error.message}`,
        };
        this.send(encodeFrame(id, FrameKind.CONTROL, Buffer.from(JSON.stringify(m))));
        this.streams.delete(id);
      },
    });
    this.streams.set(id, { upstream, inputBudget: INITIAL_WINDOW });
    upstream.send(message);
  }

  private routeInput(frame: Frame): void {
    const stream = this.streams.get(frame.stream);
    if (!stream) return; // the process already ended: late input is dropped
    if (frame.payload.length === 0) {
      stream.upstream.endInput();
      return;
    }
    if (frame.payload.length > stream.inputBudget) throw new Error(`client overran its input window`);
    stream.inputBudget -= frame.payload.length;
    const n = frame.payload.length;
    void stream.upstream.write(frame.payload).then(() => {
      stream.inputBudget += n;
      this.send(encodeWindow(frame.stream, n));
    });
  }
}
