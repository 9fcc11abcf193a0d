/**
 * A relayed TCP connection's host side on a real socket: guest bytes are written to the socket and
 * acknowledged to the machine (`consumed`) only once the socket has taken them, so a slow host peer closes the
 * guest's window; host bytes go to the machine until its bounded send buffer is full, then the socket is paused
 * until `writable`, so a slow guest slows the host peer. FIN and RST are mapped both ways.
 *
 * @packageDocumentation
 */
import { type Socket, createConnection } from "node:net";
import type { TcpCloseReason } from "../tcp/types.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

/** Where an outbound bridge connects, and how. */
export interface OutboundTarget {
  readonly host: string;
  readonly port: number;
  /** The guest's SYN is refused (RST) when the host connect takes longer. */
  readonly connectTimeoutMs: number;
  /**
   * The buffer host sockets read into (shared by the bridges of one stack: each read is taken into the
   * connection's send queue, or copied aside, before the next one).
   */
  readonly readBuffer: Buffer;
}

/** Bridges one guest connection to one host socket. */
export class SocketBridge implements TcpEndpoint {
  readonly #socket: Socket;
  readonly #handle: TcpHandle;
  #pending: Buffer | undefined;
  #hostEnded = false;
  #finished = false;

  private constructor(socket: Socket, handle: TcpHandle, ownsChunks: boolean) {
    this.#socket = socket;
    this.#handle = handle;
    socket.setNoDelay(true);
    if (ownsChunks) {
      socket.on("data", (chunk: Buffer) => {
        this.#offer(chunk, true);
      });
    }
    socket.on("end", () => {
      this.#hostEnded = true;
      if (this.#pending === undefined) this.#handle.close();
    });
  }

  /**
   * Outbound: connects to `host:port`, then accepts the guest's SYN, or refuses it (RST) when the connect fails
   * or takes longer than `connectTimeoutMs`.
   */
  static connect(handle: TcpHandle, target: OutboundTarget): SocketBridge {
    // Node takes `onread` when it constructs the socket (a later connect() ignores it). The callback runs only
    // once the socket is resumed, so after `bridge` exists.
    const socket: Socket = createConnection({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      onread: {
        buffer: target.readBuffer,
        callback: (bytes: number): boolean => bridge.#offer(target.readBuffer.subarray(0, bytes), false),
      },
    });
    socket.pause();
    const bridge: SocketBridge = new SocketBridge(socket, handle, false);
    socket.setTimeout(target.connectTimeoutMs, () => {
      socket.destroy();
      handle.refuse();
    });
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.on("error", () => {
        handle.abort();
      });
      handle.accept();
    });
    socket.once("error", () => {
      if (socket.connecting) handle.refuse();
    });
    return bridge;
  }

  /** Inbound: a host client of a published port; it is read once the guest completes the handshake. */
  static accepted(socket: Socket, handle: TcpHandle): SocketBridge {
    socket.pause();
    socket.on("error", () => {
      handle.abort();
    });
    return new SocketBridge(socket, handle, true);
  }

  established(): void {
    this.#socket.resume();
  }

  data(bytes: Uint8Array): void {
    if (this.#socket.destroyed) return;
    this.#socket.write(bytes, (err) => {
      if (err === undefined || err === null) this.#handle.consumed(bytes.length);
    });
  }

  end(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  writable(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    this.#offer(pending, true);
  }

  closed(reason: TcpCloseReason): void {
    if (this.#finished) return;
    this.#finished = true;
    if (reason === "normal") this.#socket.end();
    else if (this.#socket.connecting || this.#socket.destroyed) this.#socket.destroy();
    else this.#socket.resetAndDestroy();
  }

  /**
   * Hands host bytes to the connection; what it cannot take yet waits in `#pending` (a copy unless `owned`) with
   * the socket paused. Returns whether the socket may keep reading.
   */
  #offer(chunk: Buffer, owned: boolean): boolean {
    const taken = this.#handle.write(chunk);
    if (taken < chunk.length) {
      const rest = chunk.subarray(taken);
      this.#pending = owned ? rest : Buffer.from(rest);
      this.#socket.pause();
      return false;
    }
    if (this.#hostEnded) this.#handle.close();
    else if (!this.#finished) this.#socket.resume();
    return !this.#finished;
  }
}
