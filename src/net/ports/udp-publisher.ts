/**
 * A published UDP port: datagrams from each host client go to the guest port from their own
 * `gateway:<source port>`; the guest's answers to that port go back to the client. Client mappings expire
 * after an idle timeout. Inbound rules decide each new client; denied clients' datagrams are dropped.
 *
 * @packageDocumentation
 */
import { type Socket as DgramSocket, createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { NetworkError, PortInUseError } from "../../errors.js";
import type { StackContext } from "../stack/context.js";
import { udpFrame } from "../stack/frames.js";
import type { UdpRelay } from "../stack/udp-relay.js";
import type { PortMapping } from "./config.js";
import type { SourcePorts } from "./source-ports.js";

const MAX_CLIENTS = 256;

interface Client {
  readonly source: number;
  readonly unroute: () => void;
  lastActive: number;
}

/** A published UDP port; `close()` frees it. */
export interface UdpPublication {
  close(): void;
}

/** Binds `address:mapping.hostPort`; rejects with {@link PortInUseError} when it is taken. */
export async function publishUdp(input: {
  ctx: StackContext;
  relay: UdpRelay;
  ports: SourcePorts;
  mapping: PortMapping;
  address: string;
  idleTimeoutMs?: number;
}): Promise<UdpPublication> {
  const { ctx, relay, ports, mapping, address } = input;
  const idleMs = input.idleTimeoutMs ?? 60_000;
  const socket: DgramSocket = createSocket({ type: isIPv6(address) ? "udp6" : "udp4", reuseAddr: false });
  const clients = new Map<string, Client>();
  const maxPayload = ctx.link.mtu - 28;
  socket.on("message", (message, peer) => {
    const key = `${peer.address}|${peer.port}`;
    let client = clients.get(key);
    if (client === undefined) {
      if (clients.size >= MAX_CLIENTS) return;
      if (ctx.decide("inbound", "udp", peer.address, mapping.guestPort).action === "deny") return;
      const source = ports.take((p) => relay.hasInbound(p));
      if (source === undefined) return;
      const unroute = relay.routeInbound(source, (payload) => {
        const current = clients.get(key);
        if (current === undefined) return;
        current.lastActive = performance.now();
        socket.send(payload, peer.port, peer.address);
      });
      client = { source, unroute, lastActive: performance.now() };
      clients.set(key, client);
    }
    if (message.length > maxPayload) return;
    client.lastActive = performance.now();
    const addr = ctx.toGuest(ctx.link.gateway);
    ctx.send(udpFrame(addr, { source: client.source, destination: mapping.guestPort }, message, ctx.frame));
  });
  const sweep = setInterval(
    () => {
      const cutoff = performance.now() - idleMs;
      for (const [key, client] of clients) {
        if (client.lastActive >= cutoff) continue;
        client.unroute();
        clients.delete(key);
      }
    },
    Math.max(50, Math.floor(idleMs / 4)),
  );
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearInterval(sweep);
      reject(
        err.code === "EADDRINUSE" || err.code === "EACCES"
          ? new PortInUseError(address, mapping.hostPort, "udp", { cause: err })
          : new NetworkError(`cannot publish udp port ${address}:${mapping.hostPort}: ${err.message}`, {
              cause: err,
            }),
      );
    });
    socket.bind({ address, port: mapping.hostPort, exclusive: true }, () => {
      resolve();
    });
  });
  socket.on("error", () => {
    // A send to a vanished client (ICMP port unreachable on the host): nothing to do, the mapping expires.
  });
  return {
    close: () => {
      clearInterval(sweep);
      for (const client of clients.values()) client.unroute();
      clients.clear();
      socket.close();
    },
  };
}
