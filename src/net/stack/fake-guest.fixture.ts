/**
 * A guest connection without a TCP machine, for tests of the host side: the {@link TcpHandle} the stack would
 * drive and the guest application's socket as a `Duplex` (`client`), joined in memory. Guest bytes can be
 * delivered in pieces of `pieceSize` bytes (1: a hello split into single-byte segments).
 */
import { Duplex } from "node:stream";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

/** The in-memory guest side of one connection. */
export interface FakeGuest {
  readonly handle: TcpHandle;
  /** The guest application's end (e.g. the socket of a `tls.connect` client). */
  readonly client: Duplex;
  /** What the host side did: "accept", "refuse", "reset", "fin". */
  readonly events: string[];
  /** Connects the host side's endpoint (what `onConnect` returned). */
  attach(endpoint: TcpEndpoint): void;
  /** Resolves once the host refused, reset, or closed the connection. */
  readonly gone: Promise<string>;
  /** The attached host side (to inject machine events such as a guest RST). */
  readonly endpoint: TcpEndpoint | undefined;
}

/** A fake guest connection delivering guest bytes `pieceSize` at a time. */
export function fakeGuest(pieceSize = 64 * 1024): FakeGuest {
  const events: string[] = [];
  let endpoint: TcpEndpoint | undefined;
  let established = false;
  const early: (() => void)[] = [];
  let markGone: (how: string) => void = () => undefined;
  const gone = new Promise<string>((resolve) => {
    markGone = resolve;
  });
  const whenUp = (step: () => void): void => {
    if (established) step();
    else early.push(step);
  };
  const client = new Duplex({
    allowHalfOpen: true,
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      whenUp(() => {
        for (let at = 0; at < chunk.length; at += pieceSize)
          endpoint?.data(Uint8Array.from(chunk.subarray(at, at + pieceSize)));
      });
      callback();
    },
    final(callback) {
      whenUp(() => endpoint?.end());
      callback();
    },
  });
  const handle: TcpHandle = {
    accept: () => {
      events.push("accept");
      queueMicrotask(() => {
        established = true;
        endpoint?.established();
        for (const step of early.splice(0)) step();
      });
    },
    refuse: () => {
      events.push("refuse");
      client.destroy();
      markGone("refuse");
    },
    write: (data) => {
      client.push(Buffer.from(data));
      return data.length;
    },
    close: () => {
      events.push("fin");
      client.push(null);
      markGone("fin");
    },
    abort: () => {
      events.push("reset");
      client.destroy(new Error("connection reset by the host side"));
      markGone("reset");
      endpoint?.closed("aborted");
    },
    consumed: () => undefined,
  };
  client.on("error", () => undefined);
  return {
    handle,
    client,
    events,
    gone,
    attach: (e) => {
      endpoint = e;
    },
    get endpoint() {
      return endpoint;
    },
  };
}
