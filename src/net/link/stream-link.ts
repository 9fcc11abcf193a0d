/**
 * The host end of QEMU's `-netdev stream,server=off` link: a unix socket server that accepts exactly one
 * connection (QEMU is the client) and exchanges length-prefixed Ethernet frames over it.
 *
 * @packageDocumentation
 */
import { rmSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { NetworkError } from "../../errors.js";
import { FrameBatch } from "./frame-batch.js";
import { STREAM_LENGTH_BYTES, StreamFrameDecoder } from "./framing.js";

/** Options of {@link StreamLink.listen}. */
export interface StreamLinkOptions {
  readonly socketPath: string;
  /** Largest frame accepted from QEMU (MTU + 14). */
  readonly maxFrame: number;
  /** Bytes queued towards QEMU beyond which frames are dropped (default 8 MiB). */
  readonly maxQueuedBytes?: number;
  /** Called for every frame from the guest, in order. */
  readonly onFrame: (frame: Buffer) => void;
  /** Called once if the link fails (bad framing, socket error); the link is closed. */
  readonly onError: (error: Error) => void;
}

/** Counters of a link. */
export interface LinkCounters {
  framesFromGuest: number;
  bytesFromGuest: number;
  framesToGuest: number;
  bytesToGuest: number;
  /** Frames to the guest dropped because QEMU was not reading (TCP retransmits them). */
  framesDropped: number;
}

/** The link to one VM. Frames sent before QEMU connects are dropped (the guest has no address yet). */
export class StreamLink {
  readonly counters: LinkCounters = {
    framesFromGuest: 0,
    bytesFromGuest: 0,
    framesToGuest: 0,
    bytesToGuest: 0,
    framesDropped: 0,
  };
  readonly #server: Server;
  readonly #options: StreamLinkOptions;
  readonly #batch: FrameBatch;
  #socket: Socket | undefined;
  #closed = false;

  private constructor(server: Server, options: StreamLinkOptions) {
    this.#server = server;
    this.#options = options;
    this.#batch = new FrameBatch(
      (bytes, done) => {
        const socket = this.#socket;
        if (socket === undefined || socket.destroyed) done();
        else socket.write(bytes, done);
      },
      {
        slabBytes: Math.max(1024 * 1024, STREAM_LENGTH_BYTES + options.maxFrame),
        ...(options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes }),
      },
    );
    server.on("connection", (socket) => {
      this.#accept(socket);
    });
  }

  /**
   * The link of a VM started before its sandbox's network existed (a warm spare): `pending` has been listening,
   * and QEMU may have connected already; what it sent meanwhile is read now. `options.socketPath` is where the
   * socket file is now (the spare's run directory moved), removed at {@link close}.
   */
  static adopt(pending: PendingLink, options: StreamLinkOptions): StreamLink {
    const { server, socket } = pending.release();
    const link = new StreamLink(server, options);
    if (socket !== undefined) {
      link.#accept(socket);
      socket.resume();
    }
    return link;
  }

  /** Listens on `socketPath` (a stale socket file there is replaced). */
  static async listen(options: StreamLinkOptions): Promise<StreamLink> {
    return new StreamLink(await listenOn(options.socketPath), options);
  }

  /** True once QEMU has connected. */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /**
   * Room for one prefixed frame of `size` bytes (4-byte length prefix included), to fill completely and pass to
   * {@link send}: built in place, it is sent without a copy.
   */
  reserve(size: number): Buffer {
    return this.connected ? this.#batch.reserve(size) : Buffer.allocUnsafe(size);
  }

  /**
   * Sends a frame to the guest: `prefixed` already holds the 4-byte length prefix (see `stack/frames.ts`). A
   * frame from {@link reserve} goes out in place, any other is copied. Frames of one event-loop turn go out in
   * one write. Dropped (and counted) when QEMU is not connected or not reading.
   */
  send(prefixed: Buffer): void {
    const queued = this.connected && (this.#batch.commit(prefixed) || this.#batch.append(prefixed));
    if (!queued) {
      this.counters.framesDropped++;
      return;
    }
    this.counters.framesToGuest++;
    this.counters.bytesToGuest += prefixed.length - STREAM_LENGTH_BYTES;
  }

  /** Stops listening and drops the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    this.#socket?.destroy();
    this.#batch.reset();
    rmSync(this.#options.socketPath, { force: true });
  }

  #accept(socket: Socket): void {
    if (this.#socket !== undefined || this.#closed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    const decoder = new StreamFrameDecoder(this.#options.maxFrame);
    socket.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.#fail(err as Error);
        return;
      }
      for (const frame of frames) {
        this.counters.framesFromGuest++;
        this.counters.bytesFromGuest += frame.length;
        this.#options.onFrame(frame);
      }
    });
    socket.on("error", (err) => {
      this.#fail(err);
    });
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.close();
    this.#options.onError(error);
  }
}

/**
 * A link socket listening ahead of its {@link StreamLink}: the one QEMU of a warm spare VM connects to before any
 * sandbox (and so any network policy) is known. QEMU's connection is held paused: nothing is read from the guest
 * until {@link StreamLink.adopt} gives it to a sandbox's stack.
 */
export class PendingLink {
  readonly socketPath: string;
  #server: Server | undefined;
  #socket: Socket | undefined;

  private constructor(server: Server, socketPath: string) {
    this.#server = server;
    this.socketPath = socketPath;
    server.on("connection", this.#hold);
  }

  /** Listens on `socketPath` (a stale socket file there is replaced). */
  static async listen(socketPath: string): Promise<PendingLink> {
    return new PendingLink(await listenOn(socketPath), socketPath);
  }

  /** Whether QEMU has connected (and not gone since). */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** Hands the server and QEMU's connection over; this object holds nothing afterwards. */
  release(): { server: Server; socket: Socket | undefined } {
    const server = this.#server;
    if (server === undefined) throw new NetworkError(`the link on ${this.socketPath} was released already`);
    server.off("connection", this.#hold);
    const socket = this.#socket;
    socket?.removeAllListeners("error");
    this.#server = undefined;
    this.#socket = undefined;
    return { server, socket };
  }

  /** Stops listening and drops QEMU's connection (a spare that serves no sandbox). */
  close(): void {
    this.#server?.close();
    this.#socket?.destroy();
    this.#server = undefined;
    this.#socket = undefined;
  }

  readonly #hold = (socket: Socket): void => {
    if (this.#socket !== undefined) {
      socket.destroy();
      return;
    }
    socket.pause();
    // A link that fails before it is adopted ends with its VM; the error event must not be unhandled.
    socket.on("error", () => {
      socket.destroy();
    });
    this.#socket = socket;
  };
}

/** A server listening on the unix socket `socketPath` (a stale socket file there is replaced). */
async function listenOn(socketPath: string): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer({ allowHalfOpen: false });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => {
      reject(new NetworkError(`cannot listen on ${socketPath}: ${err.message}`, { cause: err }));
    });
    server.listen(socketPath, resolve);
  });
  return server;
}
