import { afterEach, describe, expect, it } from "vitest";
import { decodeFrame } from "../packet/decode.js";
import { ArpOperation, buildArp } from "../packet/arp.js";
import { buildEthernet, EtherType } from "../packet/ethernet.js";
import { buildIcmpv4Echo, Icmpv4Type, UnreachableCode } from "../packet/icmpv4.js";
import { IpProtocol } from "../packet/ipv4.js";
import { TcpFlag } from "../packet/tcp.js";
import { internetChecksum } from "../packet/checksum.js";
import { PENDING, guestIpv4, guestSyn, guestUdp, ip4, stackHarness } from "./harness.fixture.js";

let harness: ReturnType<typeof stackHarness> | undefined;
afterEach(() => {
  harness?.close();
  harness = undefined;
});

function open(...args: Parameters<typeof stackHarness>) {
  harness = stackHarness(...args);
  return harness;
}

/** A small deterministic PRNG (xorshift32). */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

describe("hostile guest frames", () => {
  it("survives every truncation of a valid SYN and random garbage, sending nothing", () => {
    const h = open();
    const syn = guestSyn("45.33.0.80", 80, 5000);
    for (let length = 0; length < syn.length; length++) h.feed(syn.subarray(0, length));
    const random = prng(42);
    for (let i = 0; i < 5000; i++) {
      const frame = new Uint8Array(Math.floor(random() * 200));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
      h.feed(frame);
    }
    expect(h.sent).toEqual([]);
    expect(h.tcp.size).toBe(0);
    expect(h.ctx.counters.malformed + h.ctx.counters.unsupported).toBeGreaterThan(5000);
  });

  it("drops bad checksums, bad lengths, fragments and option garbage", () => {
    const h = open();
    const syn = guestSyn("45.33.0.80", 80, 5000);
    const corrupt = (offset: number, value: number) => {
      const copy = Uint8Array.from(syn);
      copy[offset] = value;
      return copy;
    };
    h.feed(corrupt(14 + 10, (syn[24] ?? 0) ^ 0xff)); // IPv4 header checksum
    h.feed(corrupt(syn.length - 1, (syn.at(-1) ?? 0) ^ 0x01)); // TCP checksum (last option byte)
    h.feed(corrupt(14 + 3, 0xff)); // IPv4 total length beyond the frame
    h.feed(corrupt(14 + 0, 0x4f)); // IHL 60 bytes
    const fragment = Uint8Array.from(syn);
    fragment[14 + 6] = 0x20; // MF, with a correct header checksum
    fragment.fill(0, 14 + 10, 14 + 12);
    const sum = internetChecksum(fragment.subarray(14, 34));
    fragment[14 + 10] = sum >> 8;
    fragment[14 + 11] = sum & 0xff;
    h.feed(fragment);
    const options = Uint8Array.from(syn);
    options[14 + 20 + 20] = 2; // MSS option...
    options[14 + 20 + 21] = 9; // ...with a length running past the header
    h.feed(options);
    expect(h.sent).toEqual([]);
    expect(h.tcp.size).toBe(0);
    expect(h.ctx.counters.malformed).toBeGreaterThanOrEqual(4);
    expect(h.ctx.counters.unsupported).toBeGreaterThanOrEqual(1);
  });

  it("holds at most maxConnections under a SYN flood and answers the rest with RST", () => {
    const h = open({ maxConnections: 8 }, () => PENDING);
    for (let port = 1; port <= 1000; port++) h.feed(guestSyn("45.33.0.80", 80, port));
    expect(h.tcp.size).toBe(8);
    expect(h.ctx.counters.limited).toBe(992);
    const resets = h.sent.filter((frame) => {
      const decoded = decodeFrame(frame);
      return (
        decoded.ok &&
        decoded.value.kind === "ipv4" &&
        decoded.value.transport.kind === "tcp" &&
        (decoded.value.transport.tcp.flags & TcpFlag.rst) !== 0
      );
    });
    expect(resets).toHaveLength(992);
  });

  it("ignores packets whose source is not the guest", () => {
    const h = open();
    const frame = Uint8Array.from(guestSyn("45.33.0.80", 80, 5000));
    frame[14 + 15] = 99; // source 10.0.2.99 (the header checksum now fails too, either way: dropped)
    h.feed(frame);
    expect(h.sent).toEqual([]);
  });
});

describe("denials are immediate", () => {
  const firstIpv4 = (frames: Uint8Array[]) => {
    const decoded = decodeFrame(frames[0] ?? new Uint8Array(0));
    if (!decoded.ok || decoded.value.kind !== "ipv4") throw new Error("expected an IPv4 frame");
    return decoded.value;
  };

  it("resets a TCP connection to a private address at once", () => {
    const h = open();
    h.feed(guestSyn("10.211.5.80", 80, 5000));
    const reply = firstIpv4(h.sent);
    expect(reply.transport.kind === "tcp" && (reply.transport.tcp.flags & TcpFlag.rst) !== 0).toBe(true);
  });

  it("answers a denied UDP datagram with ICMP administratively prohibited", () => {
    const h = open();
    h.feed(guestUdp("169.254.169.254", 9999, new Uint8Array([1, 2, 3])));
    const reply = firstIpv4(h.sent);
    expect(reply.transport.kind).toBe("icmpv4");
    expect(reply.transport.kind === "icmpv4" && reply.transport.icmp).toMatchObject({
      kind: "destination-unreachable",
      code: UnreachableCode.administrativelyProhibited,
    });
    expect(h.udp.size).toBe(0);
  });

  it("answers ping for the gateway and refuses it elsewhere under policy", () => {
    const h = open();
    const echo = buildIcmpv4Echo({
      kind: "echo-request",
      identifier: 7,
      sequence: 1,
      data: new Uint8Array(8),
    });
    h.feed(guestIpv4("10.0.2.2", IpProtocol.icmp, echo));
    h.feed(guestIpv4("10.9.9.9", IpProtocol.icmp, echo));
    expect(h.sent).toHaveLength(2);
    const [reply, refusal] = h.sent.map((f) => firstIpv4([f]));
    expect(reply?.transport.kind === "icmpv4" && reply.transport.icmp.kind).toBe("echo-reply");
    expect(refusal?.transport.kind === "icmpv4" && refusal.transport.icmp).toMatchObject({
      code: UnreachableCode.administrativelyProhibited,
    });
    expect(Icmpv4Type.destinationUnreachable).toBe(3);
  });
});

describe("ARP", () => {
  it("answers for the gateway and other addresses, never for the guest's own", () => {
    const h = open();
    const request = (target: string) =>
      buildEthernet({
        destination: "ff:ff:ff:ff:ff:ff",
        source: h.link.guestMac,
        etherType: EtherType.arp,
        payload: buildArp({
          operation: ArpOperation.request,
          senderMac: h.link.guestMac,
          senderIp: h.link.guest,
          targetMac: "00:00:00:00:00:00",
          targetIp: ip4(target),
        }),
      });
    h.feed(request("10.0.2.2"));
    h.feed(request("10.0.2.15"));
    expect(h.sent).toHaveLength(1);
    const decoded = decodeFrame(h.sent[0] ?? new Uint8Array(0));
    expect(decoded.ok && decoded.value.kind === "arp" && decoded.value.arp).toMatchObject({
      operation: ArpOperation.reply,
      senderMac: h.link.gatewayMac,
      senderIp: ip4("10.0.2.2"),
    });
  });
});
