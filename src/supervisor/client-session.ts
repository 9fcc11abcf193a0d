/**
 * The supervisor's side of one SDK client connection. The client speaks the agent protocol (the SDK reuses
 * `AgentConnection`); this session answers its HELLO itself and routes each stream by the operation table:
 * `sup.*` operations are answered here, the others are relayed onto a stream of the VM's single agent
 * connection, keeping the client's stream ids and forwarding credit both ways (end-to-end backpressure). A bad
 * request gets an error on its own stream; only broken framing closes the client. When a client goes away, its
 * streams are cancelled in the guest, and each stays counted until the agent ends it.
 */
import type { Socket } from "node:net";
import type { AgentConnection } from "../agent-client/connection.js";
import type { AgentStream } from "../agent-client/stream.js";
import { TickWriter } from "../agent-client/tick-writer.js";
import {
  InvalidConfigError,
  InvalidStateError,
  MsbError,
  StreamLimitError,
  UnsupportedError,
  VmError,
} from "../errors.js";
import {
  ControlAssembler,
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
import { hostMessageOf, parseClientHello, parseHostMessage } from "../protocol/host-messages.js";
import { MessageError, negotiateVersion, parseObject } from "../protocol/messages.js";
import type { AgentMessage, ErrorMessage, HostMessage } from "../protocol/messages.js";
import {
  MAX_STREAMS_PER_SESSION,
  MESSAGES,
  SUPERVISOR_FEATURES,
  followUpOf,
  operationOf,
} from "../protocol/operations.js";
import type { OperationSpec } from "../protocol/operations.js";
import { toWireError } from "../wire-error.js";

/** Counts shared by every session of one supervisor. */
export interface SessionTotals {
  /** Connected clients. */
  clients: number;
  /** Relayed streams open on the agent for clients (including those of clients that left). */
  streams: number;
}

/** What the session needs from the supervisor. */
export interface SessionHost {
  /** The VM's agent connection. */
  readonly agent: AgentConnection;
  /** A client asked to stop the sandbox; resolves once the stop is under way. */
  requestStop(): Promise<void>;
  /** A client asked to drain: no new operations, the running ones finish, then the sandbox stops. */
  drain(): void;
  /** A client detached the sandbox from its creator: it no longer stops when the creator exits. */
  detach(): void;
  /** Why a new relayed operation is refused now (draining, stopping), or undefined. */
  refusal(): MsbError | undefined;
  /** Shared counters (the stream bound holds across clients: they all share the agent's session). */
  readonly totals: SessionTotals;
  /** A metrics sample (`sup.metrics`); rejects with an `MsbError` when the sandbox is not running. */
  metrics(): Promise<AgentMessage>;
  /**
   * Environment every relayed `exec.start` gets under its own (the request's values win): the TLS CA's
   * variables when the guest trusts an interception CA (`guest-ca.ts`).
   */
  readonly execEnv?: Readonly<Record<string, string>> | undefined;
}

interface Relay {
  readonly upstream: AgentStream;
  readonly op: OperationSpec;
  /** STDIN bytes the client may still send before we grant more. */
  inputBudget: number;
}

/** Operations the supervisor answers itself, by opening type (a rejection is sent as the typed error). */
type LocalHandler = (host: SessionHost) => AgentMessage | Promise<AgentMessage>;

const LOCAL_HANDLERS: Readonly<Record<string, LocalHandler>> = {
  "sup.stats": (host) => ({
    type: "sup.stats.result",
    clients: host.totals.clients,
    streams: host.totals.streams,
    agentStreams: host.agent.openStreams,
  }),
  "sup.drain": (host) => {
    host.drain();
    return { type: "sup.ok" };
  },
  "sup.detach": (host) => {
    host.detach();
    return { type: "sup.ok" };
  },
  "sup.metrics": (host) => host.metrics(),
};

/** One connected SDK client. */
export class ClientSession {
  readonly #socket: Socket;
  /** Replies and relayed output of one tick go to the client in one write. */
  readonly #writer: TickWriter;
  readonly #host: SessionHost;
  readonly #decoder = new FrameDecoder();
  readonly #assembler = new ControlAssembler();
  readonly #relays = new Map<number, Relay>();
  #greeted = false;
  #closed = false;

  constructor(socket: Socket, host: SessionHost) {
    this.#socket = socket;
    this.#writer = new TickWriter(socket);
    this.#host = host;
    host.totals.clients++;
    socket.on("data", (chunk: Buffer) => {
      this.#receive(chunk);
    });
    socket.on("error", () => {
      this.close();
    });
    socket.on("close", () => {
      this.close();
    });
  }

  /** Ends the session; its streams still running are cancelled in the guest. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.totals.clients--;
    for (const relay of this.#relays.values()) relay.upstream.cancel();
    this.#relays.clear();
    this.#writer.flush();
    this.#socket.destroy();
  }

  #send(frame: Buffer): void {
    if (!this.#closed) this.#writer.write(frame);
  }

  #reply(stream: number, message: AgentMessage): void {
    this.#send(encodeFrame(stream, FrameKind.CONTROL, Buffer.from(JSON.stringify(message))));
  }

  /** Answers a failed request on its stream with an `error` carrying the typed error. */
  #fail(stream: number, code: string, error: MsbError, field?: string): void {
    const message: ErrorMessage = {
      type: "error",
      code,
      message: error.message,
      ...(field === undefined ? {} : { field }),
      error: toWireError(error),
    };
    this.#reply(stream, message);
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    try {
      for (const frame of this.#decoder.push(chunk)) {
        const whole = this.#assembler.accept(frame);
        if (whole !== undefined) this.#route(whole);
      }
    } catch (err) {
      process.emitWarning(`closing a client session: ${(err as Error).message}`, { code: "MSB_CLIENT" });
      this.close();
    }
  }

  #route(frame: Frame): void {
    if (!this.#greeted) {
      if (frame.kind !== FrameKind.HELLO) throw new Error("client sent a frame before its HELLO");
      this.#greet(frame);
      return;
    }
    if (frame.stream === 0) {
      this.#routeConnection(frame);
      return;
    }
    if (frame.stream >= GUEST_STREAM_BASE) throw new Error(`client used reserved stream id ${frame.stream}`);
    switch (frame.kind) {
      case FrameKind.CONTROL:
        this.#routeControl(frame);
        return;
      case FrameKind.STDIN:
        this.#routeInput(frame);
        return;
      case FrameKind.WINDOW:
        this.#relays.get(frame.stream)?.upstream.grant(frame.payload.readUInt32BE(0));
        return;
      case FrameKind.HELLO:
      case FrameKind.STDOUT:
      case FrameKind.STDERR:
      case FrameKind.CONTINUE:
        throw new Error(`client sent frame kind ${frame.kind} on stream ${frame.stream}`);
    }
  }

  #greet(frame: Frame): void {
    const hello = parseClientHello(frame.payload);
    const agent = this.#host.agent.hello;
    const version = negotiateVersion(
      [MIN_PROTOCOL_VERSION, MAX_PROTOCOL_VERSION],
      [hello.minVersion, hello.maxVersion],
    );
    const features = new Set([...agent.features, ...SUPERVISOR_FEATURES, "control.continue"]);
    const reply = {
      type: "hello",
      minVersion: MIN_PROTOCOL_VERSION,
      maxVersion: MAX_PROTOCOL_VERSION,
      version,
      agentVersion: agent.agentVersion,
      features: [...features],
      uptimeMs: agent.uptimeMs,
    };
    this.#send(encodeFrame(0, FrameKind.HELLO, Buffer.from(JSON.stringify(reply))));
    if (version === 0) throw new Error("client speaks no common protocol version");
    this.#greeted = true;
  }

  #routeConnection(frame: Frame): void {
    if (frame.kind !== FrameKind.CONTROL) throw new Error(`client sent kind ${frame.kind} on stream 0`);
    const message = parseHostMessage(frame.payload);
    if (message.type === "ping") this.#reply(0, { type: "pong", id: message.id });
    else if (message.type === "shutdown") {
      this.#host.requestStop().then(
        () => {
          this.#reply(0, { type: "shutdown.ack" });
        },
        (err: unknown) => {
          process.emitWarning(`stop failed: ${(err as Error).message}`, { code: "MSB_CLIENT" });
        },
      );
    } else throw new Error(`${message.type} is not a connection-level request`);
  }

  #routeControl(frame: Frame): void {
    const id = frame.stream;
    const relay = this.#relays.get(id);
    let obj: Record<string, unknown>;
    try {
      obj = parseObject(frame.payload);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      if (relay === undefined) this.#fail(id, "EINVAL", new InvalidConfigError("type", err.message), "type");
      return;
    }
    if (relay !== undefined) {
      this.#followUp(relay, obj);
      return;
    }
    const type = obj["type"];
    if (typeof type !== "string" || MESSAGES.get(type)?.from !== "host") {
      const name = (JSON.stringify(type) as string | undefined)?.slice(0, 64) ?? "undefined";
      this.#fail(id, "ENOTSUP", new UnsupportedError(`operation ${name}`), "type");
      return;
    }
    const op = operationOf(type);
    if (op === undefined) return; // a follow-up for a stream that already ended: nothing to do
    if (!op.clients) {
      this.#fail(id, "ENOTSUP", new UnsupportedError(`operation ${type} (not open to clients)`), "type");
      return;
    }
    let message: HostMessage;
    try {
      message = hostMessageOf(obj);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      const field = err.field ?? "type";
      this.#fail(id, "EINVAL", new InvalidConfigError(field, err.message), field);
      return;
    }
    const local = op.handler === "supervisor" ? LOCAL_HANDLERS[op.open] : undefined;
    if (local !== undefined) this.#answer(id, local(this.#host));
    else this.#open(id, op, message);
  }

  /** Sends a local handler's answer; an asynchronous one that fails is sent as its typed error. */
  #answer(id: number, answer: AgentMessage | Promise<AgentMessage>): void {
    if (!(answer instanceof Promise)) {
      this.#reply(id, answer);
      return;
    }
    answer.then(
      (message) => {
        this.#reply(id, message);
      },
      (err: unknown) => {
        const error = err instanceof MsbError ? err : new InvalidStateError(String(err), { cause: err });
        this.#fail(id, "EIO", error);
      },
    );
  }

  #followUp(relay: Relay, obj: Record<string, unknown>): void {
    let message: HostMessage;
    try {
      message = hostMessageOf(obj);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      process.emitWarning(`ignoring a malformed follow-up: ${err.message}`, { code: "MSB_CLIENT" });
      return;
    }
    const follow = followUpOf(relay.op, message.type);
    if (follow === undefined) return;
    if (message.type === "stream.cancel") relay.upstream.cancel();
    else if (relay.upstream.supports(follow.feature)) relay.upstream.send(message);
  }

  #open(id: number, op: OperationSpec, message: HostMessage): void {
    const totals = this.#host.totals;
    const refused = this.#host.refusal();
    if (refused !== undefined) {
      this.#fail(id, "EBUSY", refused);
      return;
    }
    if (totals.streams >= MAX_STREAMS_PER_SESSION) {
      this.#fail(id, "EAGAIN", new StreamLimitError(MAX_STREAMS_PER_SESSION));
      return;
    }
    const base = this.#host.execEnv;
    const request =
      message.type === "exec.start" && base !== undefined
        ? { ...message, env: { ...base, ...message.env } }
        : message;
    let upstream: AgentStream;
    try {
      upstream = this.#host.agent.openStream(request, {
        onMessage: (_message, payload) => {
          if (upstream.isFinished) this.#ended(id, upstream);
          // The agent's reply as it came (the connection validated it): no second encoding on this hop.
          this.#send(encodeFrame(id, FrameKind.CONTROL, payload));
        },
        onData: (channel, data) => {
          if (this.#relays.get(id)?.upstream === upstream) {
            this.#send(encodeFrame(id, channel === "stdout" ? FrameKind.STDOUT : FrameKind.STDERR, data));
          }
        },
        onAbort: (error) => {
          this.#ended(id, upstream);
          const lost = new VmError("MSB_ERR_VM_EXITED", `sandbox agent lost: ${error.message}`);
          this.#reply(id, { type: "error", code: "EIO", message: lost.message, error: toWireError(lost) });
        },
      });
    } catch (err) {
      if (!(err instanceof UnsupportedError)) throw err;
      this.#fail(id, "ENOTSUP", err, "type");
      return;
    }
    totals.streams++;
    this.#relays.set(id, { upstream, op, inputBudget: INITIAL_WINDOW });
  }

  /** A relayed stream ended (terminal reply or lost agent): it no longer counts. */
  #ended(id: number, upstream: AgentStream): void {
    this.#host.totals.streams--;
    if (this.#relays.get(id)?.upstream === upstream) this.#relays.delete(id);
  }

  #routeInput(frame: Frame): void {
    const relay = this.#relays.get(frame.stream);
    if (relay === undefined) return; // the process already ended: late input is dropped
    // A write that fails (the stream ended, input after its end) drops the input: the stream's own end, or its
    // error, is what the client gets. Never an unhandled rejection: that would take the supervisor down.
    const dropped = (err: unknown): void => {
      process.emitWarning(`input dropped: ${(err as Error).message}`, { code: "MSB_CLIENT" });
    };
    if (frame.payload.length === 0) {
      relay.upstream.endInput().catch(dropped);
      return;
    }
    const n = frame.payload.length;
    if (n > relay.inputBudget) throw new Error(`client overran its input window`);
    relay.inputBudget -= n;
    // AgentStream.write keeps the order of writes and of the end of input.
    relay.upstream.write(frame.payload).then(() => {
      relay.inputBudget += n;
      // Nothing may follow a stream's terminal reply: once it ended, its input credit is moot.
      if (!relay.upstream.isFinished) this.#send(encodeWindow(frame.stream, n));
    }, dropped);
  }
}
