/**
 * A published TCP port: a host server whose clients become connections to the guest port, from
 * `gateway:<source port>`. Inbound rules of the policy decide each client; a denied client is reset at once.
 *
 * @packageDocumentation
 */
import { type Server, type Socket, createServer } from "node:net";
import { NetworkError, PortInUseError } from "../../errors.js";
import type { StackContext } from "../stack/context.js";
import { SocketBridge } from "../stack/socket-bridge.js";
import type { TcpRelay } from "../stack/tcp-relay.js";
import type { PortMapping } from "./config.js";
import type { SourcePorts } from "./source-ports.js";

/** Listens on `address:mapping.hostPort`; rejects with {@link PortInUseError} when it is taken. */
export async function publishTcp(input: {
  ctx: StackContext;
  relay: TcpRelay;
  ports: SourcePorts;
  mapping: PortMapping;
  address: string;
}): Promise<Server> {
  const { ctx, relay, ports, mapping, address } = input;
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    admit(socket);
  });
  const admit = (socket: Socket): void => {
    const peer = socket.remoteAddress ?? "";
    const decision = ctx.decide("inbound", "tcp", peer, mapping.guestPort);
    const source = decision.action === "allow" ? ports.take((p) => relay.has(flowFor(p))) : undefined;
    if (
      source === undefined ||
      !relay.open(flowFor(source), ctx.link.gateway, (h) => SocketBridge.accepted(socket, h))
    ) {
      socket.resetAndDestroy();
    }
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
