import { describe, expect, it } from "vitest";
import { PacketError } from "../../errors.js";
import { parseIpv4 as ip } from "../ip/ipv4.js";
import { IpProtocol, buildIpv4, parseIpv4 } from "./ipv4.js";
import { patched, recorded, withIpv4Checksum } from "./recorded.fixture.js";

const syn = recorded.tcpSyn.subarray(14);

describe("parseIpv4", () => {
  it("parses a recorded header", () => {
    const result = parseIpv4(syn);
    expect(result).toMatchObject({
      ok: true,
      value: {
        headerLength: 20,
        totalLength: 60,
        identification: 0xceba,
        dontFragment: true,
        isFragment: false,
        ttl: 64,
        protocol: IpProtocol.tcp,
        source: ip("10.77.0.1"),
        destination: ip("10.77.0.2"),
      },
    });
    if (result.ok) expect(result.value.payload.length).toBe(40);
  });

  it("trims link-layer padding by the total length", () => {
    const padded = new Uint8Array(syn.length + 6);
    padded.set(syn);
    const result = parseIpv4(padded);
    expect(result.ok && result.value.payload.length).toBe(40);
  });

  it("reports fragments without reassembling", () => {
    const moreFragments = withIpv4Checksum(patched(syn, 6, [0x20, 0x00]));
    const lastFragment = withIpv4Checksum(patched(syn, 6, [0x00, 0x10]));
    expect(parseIpv4(moreFragments)).toMatchObject({
      ok: true,
      value: { isFragment: true, moreFragments: true, fragmentOffset: 0 },
    });
    expect(parseIpv4(lastFragment)).toMatchObject({
      ok: true,
      value: { isFragment: true, moreFragments: false, fragmentOffset: 128 },
    });
  });

  it("exposes header options", () => {
    // IHL 6 with one 4-byte option (NOP NOP NOP EOL), total length grows by 4.
    const withOption = new Uint8Array(syn.length + 4);
    withOption.set(syn.subarray(0, 20));
    withOption.set([1, 1, 1, 0], 20);
    withOption.set(syn.subarray(20), 24);
    withOption[0] = 0x46;
    withOption[3] = 64;
    const result = parseIpv4(withIpv4Checksum(withOption));
    expect(
      result.ok && [result.value.headerLength, result.value.options.length, result.value.payload.length],
    ).toEqual([24, 4, 40]);
  });

  it.each([
    ["too short", syn.subarray(0, 19), "truncated"],
    ["version 6", withIpv4Checksum(patched(syn, 0, [0x65])), "bad-field"],
    ["IHL 4", withIpv4Checksum(patched(syn, 0, [0x44])), "bad-length"],
    ["IHL beyond the buffer", withIpv4Checksum(patched(syn, 0, [0x4f])).subarray(0, 40), "truncated"],
    ["total length below the header", withIpv4Checksum(patched(syn, 2, [0, 19])), "bad-length"],
    ["total length beyond the buffer", withIpv4Checksum(patched(syn, 2, [0, 61])), "truncated"],
    ["bad checksum", patched(syn, 10, [0, 0]), "bad-checksum"],
    ["reserved flag", withIpv4Checksum(patched(syn, 6, [0xc0, 0])), "bad-field"],
  ])("rejects %s", (_name, bytes, reason) => {
    expect(parseIpv4(bytes)).toMatchObject({ ok: false, layer: "ipv4", reason });
  });

  it("skips checksum verification when asked", () => {
    expect(parseIpv4(patched(syn, 10, [0, 0]), { verifyChecksum: false }).ok).toBe(true);
  });
});

describe("buildIpv4", () => {
  it("rebuilds the recorded header byte for byte", () => {
    const parsed = parseIpv4(syn);
    if (!parsed.ok) throw new Error(parsed.message);
    const v = parsed.value;
    const built = buildIpv4({
      source: v.source,
      destination: v.destination,
      protocol: v.protocol,
      payload: v.payload,
      identification: v.identification,
    });
    expect(built).toEqual(syn);
  });

  it("throws PacketError on out-of-range fields", () => {
    const base = { source: 1, destination: 2, protocol: 6, payload: new Uint8Array() };
    expect(() => buildIpv4({ ...base, payload: new Uint8Array(65516) })).toThrow(PacketError);
    expect(() => buildIpv4({ ...base, ttl: 256 })).toThrow(PacketError);
    expect(() => buildIpv4({ ...base, source: -1 })).toThrow(PacketError);
    expect(() => buildIpv4({ ...base, protocol: 1.5 })).toThrow(PacketError);
  });
});
