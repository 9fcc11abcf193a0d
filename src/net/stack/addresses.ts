/**
 * The addresses of the virtual link between the guest and our stack. They exist only inside the unix-socket
 * link: no packet to or from them ever leaves the supervisor. Same plan as QEMU's slirp, so guests and docs
 * that know slirp feel at home: guest 10.0.2.15/24, gateway 10.0.2.2, resolver 10.0.2.3.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from "../../errors.js";
import { parseIpv4 } from "../ip/ipv4.js";
import type { NetConfigureMessage } from "../../protocol/messages.js";

/** The link's addressing plan and MTU. */
export interface VirtualLink {
  /** The guest's address. */
  readonly guestAddress: string;
  /** The gateway: our stack's own address (answers ARP and ping, owns nothing else). */
  readonly gatewayAddress: string;
  /** The resolver address written to the guest's resolv.conf (any address on port 53 reaches it too). */
  readonly dnsAddress: string;
  readonly prefixLength: number;
  /** The guest NIC's MAC (QEMU `-device virtio-net-device,mac=`). */
  readonly guestMac: string;
  /** The MAC our stack answers with for every address but the guest's. */
  readonly gatewayMac: string;
  /** Link MTU (chosen by measurement: see src/net/README.md). */
  readonly mtu: number;
}

/** The MTU we use: measured fastest of 1500, 9000 and 65520 (see src/net/README.md). */
export const DEFAULT_MTU = 65520;

/** The default plan: slirp's addresses. */
export const DEFAULT_LINK: VirtualLink = Object.freeze({
  guestAddress: "10.0.2.15",
  gatewayAddress: "10.0.2.2",
  dnsAddress: "10.0.2.3",
  prefixLength: 24,
  guestMac: "52:54:00:12:34:56",
  gatewayMac: "52:55:0a:00:02:02",
  mtu: DEFAULT_MTU,
});

/** The link plan with numeric addresses, as the stack uses it. */
export interface ResolvedLink extends VirtualLink {
  readonly guest: number;
  readonly gateway: number;
  readonly dns: number;
}

function ipv4(field: string, text: string): number {
  const value = parseIpv4(text);
  if (value === undefined)
    throw new InvalidConfigError(field, `not an IPv4 address: ${JSON.stringify(text)}`);
  return value;
}

/** Validates a link plan (MTU 576..65535) and resolves it. */
export function resolveLink(link: VirtualLink): ResolvedLink {
  if (!Number.isInteger(link.mtu) || link.mtu < 576 || link.mtu > 65535) {
    throw new InvalidConfigError("network.mtu", `must be an integer from 576 to 65535, got ${link.mtu}`);
  }
  return {
    ...link,
    guest: ipv4("network.guestAddress", link.guestAddress),
    gateway: ipv4("network.gatewayAddress", link.gatewayAddress),
    dns: ipv4("network.dnsAddress", link.dnsAddress),
  };
}

/** The agent's `net.configure` for this link (with the NIC) and the given hosts file. */
export function netConfigureFor(link: VirtualLink, hostname: string): NetConfigureMessage {
  return {
    type: "net.configure",
    interface: {
      mac: link.guestMac,
      address: link.guestAddress,
      prefixLength: link.prefixLength,
      gateway: link.gatewayAddress,
      mtu: link.mtu,
    },
    resolvConf: `nameserver ${link.dnsAddress}\noptions edns0\n`,
    hosts: hostsFile(hostname),
  };
}

/** The agent's `net.configure` for a sandbox without network (policy `none`): loopback only, no resolver. */
export function netConfigureWithoutNic(hostname: string): NetConfigureMessage {
  return { type: "net.configure", resolvConf: "", hosts: hostsFile(hostname) };
}

function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}
