/**
 * ARP and ICMP of the stack. ARP: every address but the guest's own is answered with the gateway MAC (all
 * traffic goes through us; an unanswered ARP would look like a hang). ICMP echo: the gateway and the resolver
 * answer; other destinations are not relayed (Node has no ICMP sockets): the guest gets "administratively
 * prohibited" when the policy denies ICMP to them, "host unreachable" otherwise. Both come at once.
 *
 * @packageDocumentation
 */
import { type ArpPacket, ArpOperation, arpReplyFor, buildArp } from "../packet/arp.js";
import { EtherType } from "../packet/ethernet.js";
import { type Icmpv4Message, UnreachableCode, buildIcmpv4Echo } from "../packet/icmpv4.js";
import type { Ipv4Packet } from "../packet/ipv4.js";
import { type StackContext, ipText } from "./context.js";
import { ethernetFrame, icmpFrame, macPair } from "./frames.js";

/** Answers an ARP request for any address other than the guest's own. */
export function handleArp(ctx: StackContext, arp: ArpPacket): void {
  if (arp.operation !== ArpOperation.request) return;
  if (arp.targetIp === ctx.link.guest || arp.targetIp === 0) return;
  if (arp.senderMac !== ctx.link.guestMac) return;
  const reply = buildArp(arpReplyFor(arp, ctx.link.gatewayMac));
  ctx.send(ethernetFrame({ macs: macPair(arp.senderMac, ctx.link.gatewayMac) }, EtherType.arp, reply));
}

/** Handles an ICMP message from the guest (`raw` is the whole IPv4 packet, for quoting). */
export function handleIcmp(ctx: StackContext, ip: Ipv4Packet, icmp: Icmpv4Message, raw: Uint8Array): void {
  if (icmp.kind !== "echo-request") return;
  if (ctx.isLocal(ip.destination)) {
    const reply = buildIcmpv4Echo({ ...icmp, kind: "echo-reply" });
    ctx.send(icmpFrame(ctx.toGuest(ip.destination), reply, ctx.frame));
    return;
  }
  const decision = ctx.decide("outbound", "icmpv4", ipText(ip.destination));
  ctx.unreachable(
    raw,
    decision.action === "deny" ? UnreachableCode.administrativelyProhibited : UnreachableCode.host,
  );
}
