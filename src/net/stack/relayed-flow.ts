/**
 * The upstream side of relayed connections: intercepted TLS after its decision, plain TCP on an intercepted port
 * that carried no ClientHello, and plain TCP the plaintext relay asked for. Each connects a host socket, opens
 * the relay's session, and joins the two sides with {@link pump}.
 *
 * @packageDocumentation
 */
import { type Socket, createConnection } from "node:net";
import type { Duplex } from "node:stream";
import type { PlaintextRelay, RelayFlow } from "../tls/plaintext-relay.js";
import type { GuestStream } from "./guest-stream.js";
import { pump } from "./pump.js";
import type { TlsCounters } from "./tls-counters.js";

/** What every relayed connection needs from the stack. */
export interface RelayContext {
  readonly relay: PlaintextRelay | undefined;
  readonly counters: TlsCounters;
  readonly connectTimeoutMs: number;
  /** Logs a decision (never plaintext, never secret values). */
  readonly log: (level: "debug" | "warn", message: string, fields: Readonly<Record<string, unknown>>) => void;
}

/** Connects a plain host socket to `address:port`; `onConnect` once connected, `onFail` on error or timeout. */
export function connectPlain(
  address: string,
  port: number,
  timeoutMs: number,
  handlers: { onConnect: (socket: Socket) => void; onFail: (error: Error) => void },
): Socket {
  const socket = createConnection({ host: address, port, allowHalfOpen: true });
  socket.setNoDelay(true);
  socket.setTimeout(timeoutMs, () => {
    socket.destroy(new Error(`connect to ${address}:${port} timed out`));
  });
  const onError = (error: Error): void => {
    handlers.onFail(error);
  };
  socket.once("error", onError);
  socket.once("connect", () => {
    socket.setTimeout(0);
    socket.off("error", onError);
    handlers.onConnect(socket);
  });
  return socket;
}

/** Joins guest plaintext to an upstream socket through the relay's session for `flow` (if it wants one). */
export function relayPlaintext(
  rc: RelayContext,
  sides: { guest: Duplex; guestRaw: GuestStream; upstream: Duplex },
  flow: RelayFlow,
): void {
  const session = rc.relay?.open(flow);
  pump({
    ...sides,
    session,
    onBlock: (reason) => {
      rc.counters.relayBlocked++;
      rc.log("warn", "connection blocked by the relay", { host: flow.host, port: flow.port, reason });
    },
  });
}

/**
 * Plain TCP the relay asked for (`wantsPlain`) on an allowed connection whose SYN is still pending: connects
 * upstream first (failure → RST, as for any connection), then accepts the guest and relays.
 */
export function relayPlainTcp(
  rc: RelayContext,
  stream: GuestStream,
  target: { address: string; port: number; names: readonly string[] },
): void {
  rc.counters.plainRelayed++;
  connectPlain(target.address, target.port, rc.connectTimeoutMs, {
    onConnect: (socket) => {
      relayPlaintext(rc, { guest: stream, guestRaw: stream, upstream: socket }, plainFlow(target));
      stream.handle.accept();
    },
    onFail: () => {
      stream.handle.refuse();
    },
  });
}

/** The relay's view of a plain connection. */
export function plainFlow(target: { address: string; port: number; names: readonly string[] }): RelayFlow {
  return {
    host: target.names[0] ?? target.address,
    names: target.names,
    address: target.address,
    port: target.port,
    tls: false,
    upstreamVerified: false,
    alpn: undefined,
  };
}
