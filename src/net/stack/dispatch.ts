/**
 * The frame loop: one guest Ethernet frame in, decoded (every length and checksum verified), handed to ARP,
 * ICMP, UDP or TCP. Malformed and unsupported frames are counted and dropped; nothing a guest sends can throw
 * out of here.
 *
 * @packageDocumentation
 */
import { decodeFrame } from "../packet/decode.js";
import { handleArp, handleIcmp } from "./arp-icmp.js";
import type { StackContext } from "./context.js";
import type { TcpRelay } from "./tcp-relay.js";
import type { UdpRelay } from "./udp-relay.js";

/** The protocol handlers a frame can go to. */
export interface Handlers {
  readonly ctx: StackContext;
  readonly tcp: TcpRelay;
  readonly udp: UdpRelay;
}

/** Handles one frame from the guest. */
export function dispatchFrame(handlers: Handlers, frame: Uint8Array): void {
  const { ctx } = handlers;
  const decoded = decodeFrame(frame);
  if (!decoded.ok) {
    if (decoded.reason === "unsupported") ctx.counters.unsupported++;
    else ctx.counters.malformed++;
    return;
  }
  const value = decoded.value;
  if (value.kind === "arp") {
    handleArp(ctx, value.arp);
    return;
  }
  if (value.kind === "other") {
    ctx.counters.unsupported++;
    return;
  }
  const { ip, transport } = value;
  if (ip.source !== ctx.link.guest) {
    // Spoofed or unconfigured source (DHCP from 0.0.0.0): not ours to answer.
    ctx.counters.unsupported++;
    return;
  }
  const raw = value.ethernet.payload.subarray(0, ip.totalLength);
  switch (transport.kind) {
    case "tcp":
      handlers.tcp.receive(ip, transport.tcp);
      break;
    case "udp":
      handlers.udp.receive(ip, transport.udp, raw);
      break;
    case "icmpv4":
      handleIcmp(ctx, ip, transport.icmp, raw);
      break;
    case "fragment":
    case "other":
      ctx.counters.unsupported++;
      break;
  }
}
