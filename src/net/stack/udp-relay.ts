/**
 * UDP from the guest: port 53 (any address) goes to the resolver; other flows are decided by the policy on
 * their first datagram and relayed through one connected host socket per flow, forgotten after an idle timeout.
 * A denied or failed flow is answered at once with ICMP unreachable.
 *
 * @packageDocumentation
 */
import { type Socket as DgramSocket, createSocket } from "node:dgram";
import { UnreachableCode } from "../packet/icmpv4.js";
import type { Ipv4Packet } from "../packet/ipv4.js";
import type { UdpDatagram } from "../packet/udp.js";
import { type StackContext, ipText } from "./context.js";
import { udpFrame } from "./frames.js";

/** Options of a {@link UdpRelay}. */
export interface UdpRelayOptions {
  /** Flows held at most (default 256); further new flows get ICMP admin-prohibited. */
  readonly maxFlows?: number;
  /** A flow without traffic either way for this long is closed (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** DNS queries being resolved at most (default 64); further queries are dropped. */
  readonly maxPendingDns?: number;
  /** `network.tls.blockQuic`: new flows to these ports get ICMP admin-prohibited (clients fall back to TCP). */
  readonly blockedPorts?: ReadonlySet<number>;
  /** Counted per refused datagram of {@link UdpRelayOptions.blockedPorts}. */
  readonly onBlocked?: () => void;
}

interface UdpFlow {
  readonly socket: DgramSocket;
  readonly guestPort: number;
  readonly remote: number;
  readonly remotePort: number;
  lastActive: number;
  /** Header + 8 bytes of the latest guest datagram, quoted if the host reports the port unreachable. */
  quote: Uint8Array;
  /** Datagrams held until the socket's connect completes (Node refuses a send without a port before). */
  pending: Uint8Array[] | undefined;
}

/** Datagrams held per flow while its socket connects; more are dropped (UDP may lose them anyway). */
const MAX_PENDING = 64;

/** Outbound UDP of one sandbox. */
export class UdpRelay {
  readonly #ctx: StackContext;
  readonly #flows = new Map<string, UdpFlow>();
  readonly #maxFlows: number;
  readonly #idleMs: number;
  readonly #maxPendingDns: number;
  readonly #blockedPorts: ReadonlySet<number>;
  readonly #onBlocked: (() => void) | undefined;
  readonly #sweep: NodeJS.Timeout;
  readonly #inbound = new Map<number, (payload: Uint8Array) => void>();
  #pendingDns = 0;
  #closed = false;

  constructor(ctx: StackContext, options: UdpRelayOptions = {}) {
    this.#ctx = ctx;
    this.#maxFlows = options.maxFlows ?? 256;
    this.#idleMs = options.idleTimeoutMs ?? 60_000;
    this.#maxPendingDns = options.maxPendingDns ?? 64;
    this.#blockedPorts = options.blockedPorts ?? new Set();
    this.#onBlocked = options.onBlocked;
    this.#sweep = setInterval(
      () => {
        this.#expire();
      },
      Math.max(50, Math.floor(this.#idleMs / 4)),
    );
    this.#sweep.unref();
  }

  /** Flows held now. */
  get size(): number {
    return this.#flows.size;
  }

  /** A datagram from the guest (`raw` is the whole IPv4 packet). */
  receive(ip: Ipv4Packet, udp: UdpDatagram, raw: Uint8Array): void {
    if (this.#closed) return;
    const inbound =
      ip.destination === this.#ctx.link.gateway ? this.#inbound.get(udp.destinationPort) : undefined;
    if (inbound !== undefined) {
      inbound(udp.payload);
      return;
    }
    if (udp.destinationPort === 53) {
      this.#dns(ip, udp);
      return;
    }
    const key = `${udp.sourcePort}|${ip.destination}|${udp.destinationPort}`;
    let flow = this.#flows.get(key);
    if (flow === undefined) {
      if (this.#ctx.isLocal(ip.destination)) {
        this.#ctx.unreachable(raw, UnreachableCode.port);
        return;
      }
      if (this.#blockedPorts.has(udp.destinationPort)) {
        this.#onBlocked?.();
        this.#ctx.unreachable(raw, UnreachableCode.administrativelyProhibited);
        return;
      }
      const decision = this.#ctx.decide("outbound", "udp", ipText(ip.destination), udp.destinationPort);
      if (decision.action === "deny") {
        this.#ctx.unreachable(raw, UnreachableCode.administrativelyProhibited);
        return;
      }
      if (this.#flows.size >= this.#maxFlows) {
        this.#ctx.counters.limited++;
        this.#ctx.unreachable(raw, UnreachableCode.administrativelyProhibited);
        return;
      }
      flow = this.#open(key, ip, udp);
    }
    flow.lastActive = performance.now();
    flow.quote = Uint8Array.from(raw.subarray(0, ip.headerLength + 8));
    if (flow.pending === undefined) flow.socket.send(udp.payload);
    else if (flow.pending.length < MAX_PENDING) flow.pending.push(Uint8Array.from(udp.payload));
  }

  /**
   * Routes guest datagrams to `gateway:port` to `handler` (a published UDP port's client mapping); returns the
   * function that removes the route.
   */
  routeInbound(port: number, handler: (payload: Uint8Array) => void): () => void {
    this.#inbound.set(port, handler);
    return () => {
      if (this.#inbound.get(port) === handler) this.#inbound.delete(port);
    };
  }

  /** True when guest datagrams to `gateway:port` are routed to a published port. */
  hasInbound(port: number): boolean {
    return this.#inbound.has(port);
  }

  /** Closes every flow. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const key of [...this.#flows.keys()]) this.#drop(key);
  }

  #open(key: string, ip: Ipv4Packet, udp: UdpDatagram): UdpFlow {
    const socket = createSocket("udp4");
    const flow: UdpFlow = {
      socket,
      guestPort: udp.sourcePort,
      remote: ip.destination,
      remotePort: udp.destinationPort,
      lastActive: performance.now(),
      quote: new Uint8Array(0),
      pending: [],
    };
    this.#flows.set(key, flow);
    const maxPayload = this.#ctx.link.mtu - 28;
    socket.on("message", (message) => {
      if (this.#flows.get(key) !== flow || message.length > maxPayload) return;
      flow.lastActive = performance.now();
      const addr = this.#ctx.toGuest(flow.remote);
      this.#ctx.send(
        udpFrame(addr, { source: flow.remotePort, destination: flow.guestPort }, message, this.#ctx.frame),
      );
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (this.#flows.get(key) !== flow) return;
      if (flow.quote.length > 0) {
        const code = err.code === "ECONNREFUSED" ? UnreachableCode.port : UnreachableCode.host;
        this.#ctx.unreachable(flow.quote, code);
      }
      this.#drop(key);
    });
    // Node throws on a send without a port until the connect completes: hold datagrams until then.
    socket.connect(udp.destinationPort, ipText(ip.destination), () => {
      const held = flow.pending ?? [];
      flow.pending = undefined;
      if (this.#flows.get(key) === flow) for (const payload of held) socket.send(payload);
    });
    return flow;
  }

  #drop(key: string): void {
    const flow = this.#flows.get(key);
    if (flow === undefined) return;
    this.#flows.delete(key);
    flow.socket.close();
  }

  #expire(): void {
    const cutoff = performance.now() - this.#idleMs;
    for (const [key, flow] of this.#flows) if (flow.lastActive < cutoff) this.#drop(key);
  }

  #dns(ip: Ipv4Packet, udp: UdpDatagram): void {
    if (this.#pendingDns >= this.#maxPendingDns) {
      this.#ctx.counters.limited++;
      return;
    }
    this.#pendingDns++;
    const query = Uint8Array.from(udp.payload);
    const reply = (answer: Buffer | undefined): void => {
      this.#pendingDns--;
      if (answer === undefined || this.#closed) return;
      const addr = this.#ctx.toGuest(ip.destination);
      this.#ctx.send(udpFrame(addr, { source: 53, destination: udp.sourcePort }, answer, this.#ctx.frame));
    };
    this.#ctx.resolver.answer(query, "udp").then(reply, (err: unknown) => {
      this.#pendingDns--;
      throw err;
    });
  }
}
