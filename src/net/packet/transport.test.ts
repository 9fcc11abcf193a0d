import { describe, expect, it } from "vitest";
import { PacketError } from "../../errors.js";
import { parseIpv4 as ip } from "../ip/ipv4.js";
import {
  Icmpv4Type,
  UnreachableCode,
  buildIcmpv4Echo,
  buildIcmpv4Unreachable,
  parseIcmpv4,
} from "./icmpv4.js";
import { parseIpv4 } from "./ipv4.js";
import { patched, recorded } from "./recorded.fixture.js";
import { buildUdp, parseUdp } from "./udp.js";

function ipOf(frame: Uint8Array) {
  const result = parseIpv4(frame.subarray(14));
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe("UDP", () => {
  const dns = ipOf(recorded.udpDns);
  const pseudo = { source: dns.source, destination: dns.destination };

  it("parses the recorded DNS query", () => {
    const result = parseUdp(dns.payload, pseudo);
    expect(result).toMatchObject({
      ok: true,
      value: { sourcePort: 0xde32, destinationPort: 53, hasChecksum: true },
    });
    expect(result.ok && Buffer.from(result.value.payload).includes("example")).toBe(true);
  });

  it("parses the recorded DHCP discover (broadcast)", () => {
    const dhcp = ipOf(recorded.dhcpDiscover);
    expect(dhcp.destination).toBe(0xffffffff);
    const result = parseUdp(dhcp.payload, { source: dhcp.source, destination: dhcp.destination });
    expect(result).toMatchObject({ ok: true, value: { sourcePort: 68, destinationPort: 67 } });
    expect(result.ok && result.value.payload.subarray(236, 240)).toEqual(
      Uint8Array.from([0x63, 0x82, 0x53, 0x63]),
    );
  });

  it("accepts a zero checksum as none", () => {
    expect(parseUdp(patched(dns.payload, 6, [0, 0]), pseudo)).toMatchObject({
      ok: true,
      value: { hasChecksum: false },
    });
  });

  it.each([
    ["short header", dns.payload.subarray(0, 7), "truncated"],
    ["length below 8", patched(dns.payload, 4, [0, 7]), "bad-length"],
    ["length beyond the buffer", patched(dns.payload, 4, [0, 0x26]), "truncated"],
    ["bad checksum", patched(dns.payload, 6, [0x12, 0x34]), "bad-checksum"],
  ])("rejects %s", (_name, bytes, reason) => {
    expect(parseUdp(bytes, pseudo)).toMatchObject({ ok: false, layer: "udp", reason });
  });

  it("rejects a datagram checked against the wrong addresses", () => {
    expect(parseUdp(dns.payload, { ...pseudo, source: ip("10.77.0.3") ?? 0 })).toMatchObject({
      reason: "bad-checksum",
    });
  });

  it("rebuilds the recorded datagram and never sends a zero checksum", () => {
    const parsed = parseUdp(dns.payload, pseudo);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(
      buildUdp({ ...pseudo, sourcePort: 0xde32, destinationPort: 53, payload: parsed.value.payload }),
    ).toEqual(dns.payload);
    for (let port = 0; port < 2000; port++) {
      const built = buildUdp({
        source: 0,
        destination: 0,
        sourcePort: port,
        destinationPort: 0,
        payload: new Uint8Array(),
      });
      expect(built[6] === 0 && built[7] === 0).toBe(false);
      expect(parseUdp(built, { source: 0, destination: 0 }).ok).toBe(true);
    }
    expect(() =>
      buildUdp({ ...pseudo, sourcePort: 70000, destinationPort: 1, payload: new Uint8Array() }),
    ).toThrow(PacketError);
  });
});

describe("ICMPv4", () => {
  it("parses the recorded port unreachable and its quoted datagram", () => {
    const icmp = ipOf(recorded.icmpPortUnreachable);
    const result = parseIcmpv4(icmp.payload);
    expect(result).toMatchObject({
      ok: true,
      value: { kind: "destination-unreachable", code: UnreachableCode.port },
    });
    if (!result.ok || result.value.kind !== "destination-unreachable") throw new Error("kind");
    expect(result.value.original).toEqual(recorded.udpDns.subarray(14));
  });

  it("quotes the original header and 8 payload bytes when building an unreachable", () => {
    const original = recorded.udpDns.subarray(14);
    const built = buildIcmpv4Unreachable({ code: UnreachableCode.administrativelyProhibited, original });
    const result = parseIcmpv4(built);
    expect(result).toMatchObject({ ok: true, value: { kind: "destination-unreachable", code: 13 } });
    expect(result.ok && result.value.kind === "destination-unreachable" && result.value.original).toEqual(
      original.subarray(0, 28),
    );
    const short = buildIcmpv4Unreachable({ code: 3, original: original.subarray(0, 10) });
    expect(short.length).toBe(18);
    const mtu = parseIcmpv4(buildIcmpv4Unreachable({ code: 4, original, nextHopMtu: 1400 }));
    expect(mtu).toMatchObject({ ok: true, value: { nextHopMtu: 1400 } });
  });

  it("builds and parses echo request and reply", () => {
    const data = Uint8Array.from([1, 2, 3]);
    const request = buildIcmpv4Echo({ kind: "echo-request", identifier: 0x1234, sequence: 7, data });
    expect(request[0]).toBe(Icmpv4Type.echoRequest);
    expect(parseIcmpv4(request)).toEqual({
      ok: true,
      value: { kind: "echo-request", identifier: 0x1234, sequence: 7, data },
    });
    const reply = buildIcmpv4Echo({ kind: "echo-reply", identifier: 0x1234, sequence: 7, data });
    expect(parseIcmpv4(reply)).toMatchObject({ ok: true, value: { kind: "echo-reply" } });
    expect(() => buildIcmpv4Echo({ kind: "echo-reply", identifier: -1, sequence: 0, data })).toThrow(
      PacketError,
    );
  });

  it("keeps other types raw and rejects bad input", () => {
    const timestamp = Uint8Array.from([13, 0, 0xf2, 0xff, 0, 0, 0, 0]);
    expect(parseIcmpv4(timestamp)).toMatchObject({ ok: true, value: { kind: "other", type: 13 } });
    expect(parseIcmpv4(timestamp.subarray(0, 7))).toMatchObject({ ok: false, reason: "truncated" });
    expect(parseIcmpv4(patched(timestamp, 2, [0, 0]))).toMatchObject({ ok: false, reason: "bad-checksum" });
    const echoCode1 = buildIcmpv4Echo({
      kind: "echo-request",
      identifier: 0,
      sequence: 0,
      data: new Uint8Array(),
    });
    echoCode1[1] = 1;
    echoCode1[3] = (echoCode1[3] ?? 0) - 1;
    expect(parseIcmpv4(echoCode1)).toMatchObject({ ok: false, reason: "bad-field" });
  });
});
