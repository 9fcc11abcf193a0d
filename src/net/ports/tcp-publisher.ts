/**
 * A published TCP port: a host server whose clients become connections to the guest port, from
 * `gateway:<source port>`. Inbound rules of the policy decide each client; a denied client is reset at once.
 * A client the guest refuses (nothing listens yet) is tried again for a bounded time (`inbound-retry.ts`)
 * before it is reset.
 *
 * @packageDocumentation
 */
import { type Server, type Socket, createServer } from "node:net";
import { NetworkError, PortInUseError } from "../../errors.js";
import type { StackContext } from "../stack/context.js";
import type { TcpRelay } from "../stack/tcp-relay.js";
import type { PortMapping } from "./config.js";
import {
  DEFAULT_INBOUND_RETRY,
  InboundAttempt,
  type InboundRetry,
  checkInboundRetry,
  retryDelay,
} from "./inbound-retry.js";
import type { SourcePorts } from "./source-ports.js";

/** Listens on `address:mapping.hostPort`; rejects with {@link PortInUseError} when it is taken. */
export async function publishTcp(input: {
  ctx: StackContext;
  relay: TcpRelay;
  ports: SourcePorts;
  mapping: PortMapping;
  address: string;
  /** How a client the guest refuses is tried again (default {@link DEFAULT_INBOUND_RETRY}). */
  retry?: InboundRetry;
}): Promise<Server> {
  const { ctx, relay, ports, mapping, address } = input;
  const retry = checkInboundRetry(input.retry ?? DEFAULT_INBOUND_RETRY);
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    admit(socket);
  });
  const admit = (socket: Socket): void => {
    const peer = socket.remoteAddress ?? "";
    const decision = ctx.decide("inbound", "tcp", peer, mapping.guestPort);
    if (decision.action !== "allow") {
      socket.resetAndDestroy();
      return;
    }
    const started = performance.now();
    let current: InboundAttempt | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Until the guest accepts, the client's end (or error) stops the retries and resets the guest's half.
    const gone = (): void => {
      clearTimeout(timer);
      current?.abandon();
    };
    socket.once("close", gone);
    socket.on("error", gone);
    const attempt = (n: number): void => {
      timer = undefined;
      if (socket.destroyed) return;
      const source = ports.take((p) => relay.has(flowFor(p)));
      const next = (): void => {
        const delay = retryDelay(retry, n, performance.now() - started);
        if (delay === undefined || socket.destroyed) socket.resetAndDestroy();
        else
          timer = setTimeout(() => {
            attempt(n + 1);
          }, delay);
      };
      const opened =
        source !== undefined &&
        relay.open(flowFor(source), ctx.link.gateway, (h) => {
          current = new InboundAttempt(socket, h, next);
          return current;
        });
      if (!opened) socket.resetAndDestroy();
    };
    attempt(0);
  };
  const flowFor = (source: number) => ({
    guestAddress: ctx.link.guestAddress,
    guestPort: mapping.guestPort,
    remoteAddress: ctx.link.gatewayAddress,
    remotePort: source,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE" || err.code === "EACCES"
          ? new PortInUseError(address, mapping.hostPort, "tcp", { cause: err })
          : new NetworkError(`cannot publish tcp port ${address}:${mapping.hostPort}: ${err.message}`, {
              cause: err,
            }),
      );
    });
    server.listen({ host: address, port: mapping.hostPort, exclusive: true }, resolve);
  });
  return server;
}
