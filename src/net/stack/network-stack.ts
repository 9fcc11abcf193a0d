/**
 * `NetworkStack`: one sandbox's network, run by the supervisor on the host. It listens on the unix socket QEMU's
 * `-netdev stream` connects to, terminates the guest's TCP/UDP/ICMP in userspace, enforces the policy on every
 * flow, answers all guest DNS, publishes ports, and counts traffic. Start it before QEMU; send
 * {@link NetworkStack.guestConfig} to the agent (`net.configure`) after `init`.
 *
 * @packageDocumentation
 */
import type { Server } from "node:net";
import { readEnv } from "../../config/env.js";
import { InvalidConfigError } from "../../errors.js";
import type { NetConfigureMessage } from "../../protocol/messages.js";
import { NameCache } from "../dns/name-cache.js";
import { DnsResolver } from "../dns/resolver.js";
import { type DnsServer, hostDnsServers, parseDnsServers } from "../dns/servers.js";
import { type PendingLink, StreamLink } from "../link/stream-link.js";
import { allocateFrame } from "./frames.js";
import { type CompiledPolicy, compilePolicy } from "../policy/compile.js";
import type { NetworkConfig } from "../policy/types.js";
import { type PortsConfig, checkBindAddress, parsePorts } from "../ports/config.js";
import { SourcePorts } from "../ports/source-ports.js";
import { publishTcp } from "../ports/tcp-publisher.js";
import { type UdpPublication, publishUdp } from "../ports/udp-publisher.js";
import type { TcpConnectionOptions } from "../tcp/types.js";
import {
  DEFAULT_LINK,
  type VirtualLink,
  netConfigureFor,
  netConfigureWithoutNic,
  resolveLink,
} from "./addresses.js";
import { StackContext } from "./context.js";
import { dispatchFrame } from "./dispatch.js";
import { type NetworkMetrics, collectMetrics } from "./metrics.js";
import { connectOutbound } from "./outbound.js";
import { TcpRelay } from "./tcp-relay.js";
import { UdpRelay } from "./udp-relay.js";
import type { CaMaterial } from "../tls/ca.js";
import { compileTls } from "../tls/config.js";
import type { PlaintextRelay } from "../tls/plaintext-relay.js";
import { upstreamTrust } from "../tls/upstream-trust.js";
import type { RelayContext } from "./relayed-flow.js";
import { newTlsCounters } from "./tls-counters.js";
import type { TlsInterception } from "./tls-intercept.js";

/** Options of {@link NetworkStack.start}. */
export interface NetworkStackOptions {
  /** Unix socket QEMU connects to (`VmNetwork` kind `stream`). Unused under policy `none`. */
  readonly socketPath: string;
  /**
   * The link socket already listening at `socketPath`, perhaps with QEMU connected (a warm spare VM's): adopted
   * instead of listening anew. Under policy `none` it is closed. Only with the default `link`.
   */
  readonly pendingLink?: PendingLink;
  /** The sandbox's `network` config (policy, rules, DNS block lists...). Default: `public-only`. */
  readonly network?: NetworkConfig;
  /** Published ports: `{ "8080": 80, "5353/udp": 53 }`. */
  readonly ports?: PortsConfig;
  /** Host address published ports bind to (default `127.0.0.1`). */
  readonly portBindAddress?: string;
  /** Upstream resolvers (`ip[:port]`); default `MSB_DNS_SERVERS`, else the host's `/etc/resolv.conf`. */
  readonly dnsServers?: readonly string[];
  /** Guest hostname, for the guest's `/etc/hosts` (default `microsandbox`). */
  readonly hostname?: string;
  /** Addressing plan and MTU of the virtual link (default {@link DEFAULT_LINK}). */
  readonly link?: Partial<VirtualLink>;
  /** TCP tunables (MSS defaults to MTU - 40; buffers 512 KiB). */
  readonly tcp?: TcpConnectionOptions;
  /** Host bytes held for the guest across all TCP connections (default 32 MiB). */
  readonly tcpSendBudgetBytes?: number;
  /** Host connects that take longer are refused with RST (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** UDP flows and published-port clients idle this long are closed (default 60 s). */
  readonly udpIdleTimeoutMs?: number;
  /** Upstream DNS timeout per server (default 2 s). */
  readonly dnsTimeoutMs?: number;
  /** The link to QEMU failed (bad framing from the guest side, socket error). The stack keeps its state. */
  readonly onLinkError?: (error: Error) => void;
  /**
   * TLS interception (on when given; the caller decides with `interceptionEnabled`): the CA leaves are signed
   * with, and the PEMs of extra upstream CAs. Its settings are `network.tls` (defaults when absent).
   */
  readonly tlsInterception?: TlsInterceptionOptions;
  /** Sees the plaintext of intercepted TLS and of the plain TCP it asks for (the secrets guard). */
  readonly relay?: PlaintextRelay;
  /** Interception and relay decisions (never plaintext, never secret values). */
  readonly log?: RelayContext["log"];
}

/** Options of the TLS interception of {@link NetworkStack.start}. */
export interface TlsInterceptionOptions {
  readonly ca: CaMaterial;
  /** Extra CAs trusted for upstream certificates (PEM), besides the host's store. */
  readonly upstreamCaPems?: readonly string[];
  /** Leaf contexts cached (default 1000). */
  readonly leafCacheSize?: number;
  /** The guest must send its ClientHello within this (default 10 s). */
  readonly helloTimeoutMs?: number;
  /** Each TLS handshake must finish within this (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** What the supervisor gives QEMU: the `-netdev stream` socket and the NIC's MAC; absent = no NIC at all. */
export interface VmNic {
  readonly socketPath: string;
  readonly mac: string;
}

/** What of a stack's options decides its VM's NIC and network set-up. */
export type GuestNetworkOptions = Pick<NetworkStackOptions, "socketPath" | "network" | "hostname" | "link">;

/** A VM's NIC (none under policy `none`) and the `net.configure` its agent gets. */
export interface GuestNetwork {
  readonly nic: VmNic | undefined;
  readonly configure: NetConfigureMessage;
}

/** A running sandbox network. */
export class NetworkStack {
  /** The `net.configure` message for the agent. */
  readonly guestConfig: NetConfigureMessage;
  /** The NIC to give QEMU, or undefined under policy `none` (the guest has loopback only). */
  readonly nic: VmNic | undefined;
  readonly #closers: (() => void)[];
  readonly #collect: () => NetworkMetrics;
  #closed = false;

  private constructor(init: {
    guestConfig: NetConfigureMessage;
    nic: VmNic | undefined;
    closers: (() => void)[];
    collect: () => NetworkMetrics;
  }) {
    this.guestConfig = init.guestConfig;
    this.nic = init.nic;
    this.#closers = init.closers;
    this.#collect = init.collect;
  }

  /**
   * Validates everything, binds the published ports (a taken port is a `PortInUseError`) and listens on the
   * link socket. Throws `InvalidConfigError` for bad options.
   */
  static async start(options: NetworkStackOptions): Promise<NetworkStack> {
    const policy = compilePolicy(options.network ?? {});
    const link = resolveLink({ ...DEFAULT_LINK, ...options.link });
    const mappings = parsePorts(options.ports);
    const bindAddress = checkBindAddress(options.portBindAddress);
    const guest = NetworkStack.guestNetwork(options);
    if (policy.preset === "none") {
      options.pendingLink?.close();
      if (mappings.length > 0)
        throw new InvalidConfigError("ports", 'cannot publish ports under policy "none"');
      return new NetworkStack({
        guestConfig: guest.configure,
        nic: undefined,
        closers: [],
        collect: () => collectMetrics({}),
      });
    }
    const servers = upstreamServers(options.dnsServers);
    const names = new NameCache({ now: () => performance.now() });
    const resolver = new DnsResolver({
      servers,
      blockLists: { blockDomains: policy.blockDomains, blockDomainSuffixes: policy.blockDomainSuffixes },
      rebindProtection: policy.dnsRebindProtection,
      names,
      ...(options.dnsTimeoutMs === undefined ? {} : { timeoutMs: options.dnsTimeoutMs }),
    });
    let linkRef: StreamLink | undefined;
    const ctx = new StackContext({
      link,
      policy,
      names,
      resolver,
      send: (frame) => linkRef?.send(frame),
      frame: (size) => linkRef?.reserve(size) ?? allocateFrame(size),
    });
    const outbound = {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      readBuffer: Buffer.allocUnsafe(256 * 1024),
    };
    const tlsCounters = newTlsCounters();
    const relayContext: RelayContext = {
      relay: options.relay,
      counters: tlsCounters,
      connectTimeoutMs: outbound.connectTimeoutMs,
      log: options.log ?? (() => undefined),
    };
    const interception = await startInterception(options, policy.tls, relayContext);
    const tcp = new TcpRelay(ctx, {
      connection: {
        mss: link.mtu - 40,
        receiveBufferSize: 512 * 1024,
        sendBufferSize: 512 * 1024,
        ...options.tcp,
      },
      ...(options.tcpSendBudgetBytes === undefined ? {} : { sendBudgetBytes: options.tcpSendBudgetBytes }),
      onConnect: (flow, remote, handle) =>
        connectOutbound(ctx, outbound, flow, remote, handle, {
          ...(interception === undefined ? {} : { interception }),
          relay: relayContext,
        }),
    });
    const udp = new UdpRelay(ctx, {
      ...(options.udpIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.udpIdleTimeoutMs }),
      ...(policy.tls?.blockQuic === true ? { blockedPorts: policy.tls.interceptedPorts } : {}),
      onBlocked: () => {
        tlsCounters.quicBlocked++;
      },
    });
    const closers: (() => void)[] = [
      () => {
        tcp.close();
      },
      () => {
        udp.close();
      },
    ];
    const close = (): void => {
      for (const c of closers.splice(0).reverse()) c();
    };
    try {
      const sourcePorts = new SourcePorts();
      for (const mapping of mappings) {
        const input = { ctx, ports: sourcePorts, mapping, address: bindAddress };
        if (mapping.protocol === "tcp") {
          const server: Server = await publishTcp({ ...input, relay: tcp });
          closers.push(() => server.close());
        } else {
          const publication: UdpPublication = await publishUdp({
            ...input,
            relay: udp,
            ...(options.udpIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.udpIdleTimeoutMs }),
          });
          closers.push(() => {
            publication.close();
          });
        }
      }
      const handlers = { ctx, tcp, udp };
      const linkOptions = {
        socketPath: options.socketPath,
        maxFrame: link.mtu + 14,
        onFrame: (frame: Buffer) => {
          dispatchFrame(handlers, frame);
        },
        onError: (error: Error) => options.onLinkError?.(error),
      };
      linkRef = options.pendingLink
        ? StreamLink.adopt(options.pendingLink, linkOptions)
        : await StreamLink.listen(linkOptions);
      const streamLink = linkRef;
      closers.push(() => {
        streamLink.close();
      });
      return new NetworkStack({
        guestConfig: guest.configure,
        nic: guest.nic,
        closers,
        collect: () =>
          collectMetrics({
            link: streamLink.counters,
            stack: ctx.counters,
            dns: resolver.counters,
            tcp,
            udp,
            tls: tlsCounters,
          }),
      });
    } catch (err) {
      close();
      throw err;
    }
  }

  /**
   * The NIC and guest set-up a stack started with `options` gives its VM, without starting it (pure): what
   * {@link NetworkStack.nic} and {@link NetworkStack.guestConfig} will be. A warm spare VM is started with it
   * before its sandbox's stack exists, and a create checks a spare against it. Throws `InvalidConfigError` for a
   * bad policy.
   */
  static guestNetwork(options: GuestNetworkOptions): GuestNetwork {
    const policy = compilePolicy(options.network ?? {});
    const hostname = options.hostname ?? "microsandbox";
    if (policy.preset === "none") return { nic: undefined, configure: netConfigureWithoutNic(hostname) };
    const link = resolveLink({ ...DEFAULT_LINK, ...options.link });
    return {
      nic: { socketPath: options.socketPath, mac: link.guestMac },
      configure: netConfigureFor(link, hostname),
    };
  }

  /** Traffic and decision counters (a snapshot). */
  metrics(): NetworkMetrics {
    return this.#collect();
  }

  /** Resets every connection, closes published ports, host sockets and the link. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#closers.splice(0).reverse()) c();
  }
}

async function startInterception(
  options: NetworkStackOptions,
  tls: CompiledPolicy["tls"],
  relayContext: RelayContext,
): Promise<TlsInterception | undefined> {
  const given = options.tlsInterception;
  if (given === undefined) return undefined;
  // Loaded only when interception is on: the X.509 code is a third of a supervisor's start-up time.
  const { LeafMinter } = await import("../tls/leaf-minter.js");
  return {
    ...relayContext,
    tls: tls ?? compileTls({}),
    minter: await LeafMinter.create(given.ca, {
      ...(given.leafCacheSize === undefined ? {} : { maxEntries: given.leafCacheSize }),
    }),
    upstreamTrust: upstreamTrust(given.upstreamCaPems ?? []),
    helloTimeoutMs: given.helloTimeoutMs ?? 10_000,
    handshakeTimeoutMs: given.handshakeTimeoutMs ?? 10_000,
  };
}

function upstreamServers(explicit: readonly string[] | undefined): DnsServer[] {
  if (explicit !== undefined) return parseDnsServers(explicit, "dnsServers");
  const fromEnv = readEnv().dnsServers;
  if (fromEnv.length > 0) return parseDnsServers(fromEnv, "MSB_DNS_SERVERS");
  return hostDnsServers();
}
