import { describe, expect, it } from "vitest";
import { ArpOperation, arpReplyFor, buildArp, parseArp } from "./arp.js";
import { EtherType, buildEthernet, parseEthernet } from "./ethernet.js";
import { PacketError } from "../../errors.js";
import { fromHex, patched, recorded } from "./recorded.fixture.js";
import { formatIpv4, parseIpv4 as parseIpv4Text } from "../ip/ipv4.js";

describe("Ethernet II", () => {
  it("parses a recorded frame", () => {
    const result = parseEthernet(recorded.arpRequest);
    expect(result).toMatchObject({
      ok: true,
      value: { destination: "ff:ff:ff:ff:ff:ff", source: "7a:f2:10:74:6e:4d", etherType: EtherType.arp },
    });
  });

  it("round-trips through build", () => {
    const parsed = parseEthernet(recorded.tcpSyn);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(buildEthernet(parsed.value)).toEqual(recorded.tcpSyn);
  });

  it("rejects short frames and 802.3 length frames", () => {
    expect(parseEthernet(new Uint8Array(13))).toMatchObject({
      ok: false,
      layer: "ethernet",
      reason: "truncated",
    });
    expect(parseEthernet(fromHex("ffffffffffff 020000000001 05dc"))).toMatchObject({
      ok: false,
      reason: "unsupported",
    });
  });

  it("accepts an empty payload", () => {
    expect(parseEthernet(fromHex("ffffffffffff 020000000001 0800"))).toMatchObject({ ok: true });
  });

  it("throws PacketError on a bad MAC when building", () => {
    expect(() =>
      buildEthernet({
        destination: "ff:ff",
        source: "02:00:00:00:00:01",
        etherType: 0x800,
        payload: new Uint8Array(),
      }),
    ).toThrow(PacketError);
  });
});

describe("ARP", () => {
  it("parses the recorded request and reply", () => {
    const request = parseArp(recorded.arpRequest.subarray(14));
    const reply = parseArp(recorded.arpReply.subarray(14));
    if (!request.ok || !reply.ok) throw new Error("parse");
    expect(request.value).toEqual({
      operation: ArpOperation.request,
      senderMac: "7a:f2:10:74:6e:4d",
      senderIp: parseIpv4Text("10.77.0.1"),
      targetMac: "00:00:00:00:00:00",
      targetIp: parseIpv4Text("10.77.0.2"),
    });
    expect(formatIpv4(reply.value.senderIp)).toBe("10.77.0.2");
    expect(arpReplyFor(request.value, "66:74:3c:01:5d:27")).toEqual(reply.value);
    expect(buildArp(reply.value)).toEqual(recorded.arpReply.subarray(14));
  });

  it("ignores trailing padding", () => {
    const padded = new Uint8Array(46);
    padded.set(recorded.arpRequest.subarray(14));
    expect(parseArp(padded).ok).toBe(true);
  });

  it.each([
    ["truncated", recorded.arpRequest.subarray(14, 41), "truncated"],
    ["IPv6 protocol type", patched(recorded.arpRequest.subarray(14), 2, [0x86, 0xdd]), "unsupported"],
    ["hardware type 6", patched(recorded.arpRequest.subarray(14), 0, [0, 6]), "unsupported"],
    ["hardware length 8", patched(recorded.arpRequest.subarray(14), 4, [8]), "unsupported"],
    ["operation 3", patched(recorded.arpRequest.subarray(14), 6, [0, 3]), "bad-field"],
  ])("rejects %s", (_name, bytes, reason) => {
    expect(parseArp(bytes)).toMatchObject({ ok: false, layer: "arp", reason });
  });
});
