import { describe, expect, it } from "vitest";
import { decodeFrame } from "./decode.js";
import { recorded, withIpv4Checksum, patched } from "./recorded.fixture.js";
import type { ParseErrorReason, PacketLayer } from "./result.js";

const LAYERS: readonly PacketLayer[] = ["ethernet", "arp", "ipv4", "icmpv4", "udp", "tcp", "tcp-options"];
const REASONS: readonly ParseErrorReason[] = [
  "truncated",
  "bad-length",
  "bad-checksum",
  "bad-field",
  "unsupported",
];

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decodes `frame`; returns a description of the problem when the outcome is not a typed one, else undefined. */
function untypedOutcome(frame: Uint8Array): string | undefined {
  const result = decodeFrame(frame);
  if (result.ok) return undefined;
  if (LAYERS.includes(result.layer) && REASONS.includes(result.reason) && typeof result.message === "string")
    return undefined;
  return `${Buffer.from(frame).toString("hex")}: ${JSON.stringify(result)}`;
}

/** Runs `frames` through the decoder (any throw fails the test) and expects only typed outcomes. */
function expectTypedOutcomes(frames: Iterable<Uint8Array>): void {
  const problems: string[] = [];
  for (const frame of frames) {
    const problem = untypedOutcome(frame);
    if (problem !== undefined) problems.push(problem);
  }
  expect(problems).toEqual([]);
}

describe("decodeFrame", () => {
  it("decodes every recorded frame", () => {
    expect(decodeFrame(recorded.arpRequest)).toMatchObject({ ok: true, value: { kind: "arp" } });
    expect(decodeFrame(recorded.arpReply)).toMatchObject({ ok: true, value: { kind: "arp" } });
    for (const frame of [recorded.tcpSyn, recorded.tcpSynAck, recorded.tcpData, recorded.tcpFin]) {
      expect(decodeFrame(frame)).toMatchObject({
        ok: true,
        value: { kind: "ipv4", transport: { kind: "tcp" } },
      });
    }
    expect(decodeFrame(recorded.udpDns)).toMatchObject({ ok: true, value: { transport: { kind: "udp" } } });
    expect(decodeFrame(recorded.dhcpDiscover)).toMatchObject({
      ok: true,
      value: { transport: { kind: "udp", udp: { destinationPort: 67 } } },
    });
    expect(decodeFrame(recorded.icmpPortUnreachable)).toMatchObject({
      ok: true,
      value: { transport: { kind: "icmpv4", icmp: { kind: "destination-unreachable" } } },
    });
  });

  it("reports fragments and other protocols without parsing them", () => {
    const fragment = patched(recorded.tcpSyn, 14, []);
    const mf = withIpv4Checksum(patched(fragment, 20, [0x20, 0]), 14);
    expect(decodeFrame(mf)).toMatchObject({
      ok: true,
      value: { kind: "ipv4", transport: { kind: "fragment" } },
    });
    const gre = withIpv4Checksum(patched(recorded.tcpSyn, 23, [47]), 14);
    expect(decodeFrame(gre)).toMatchObject({
      ok: true,
      value: { transport: { kind: "other", protocol: 47 } },
    });
    const ipv6 = patched(recorded.tcpSyn, 12, [0x86, 0xdd]);
    expect(decodeFrame(ipv6)).toMatchObject({ ok: true, value: { kind: "other" } });
  });

  it("never throws on any truncation of a recorded frame", () => {
    expectTypedOutcomes(
      Object.values(recorded).flatMap((frame) =>
        Array.from({ length: frame.length + 1 }, (_, n) => frame.subarray(0, n)),
      ),
    );
  });

  it("never throws on random bit flips and byte overwrites", () => {
    const random = prng(0x5eed);
    const frames = Object.values(recorded);
    const mutated: Uint8Array[] = [];
    for (let i = 0; i < 20000; i++) {
      const frame = Uint8Array.from(frames[i % frames.length] ?? new Uint8Array());
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(random() * frame.length);
        frame[at] =
          random() < 0.5 ? (frame[at] ?? 0) ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
      }
      mutated.push(frame);
      // Flipped headers with a repaired IP checksum reach the transport parsers too.
      if (frame.length > 34) mutated.push(withIpv4Checksum(frame, 14));
    }
    expectTypedOutcomes(mutated);
  });

  it("never throws on random garbage of any length", () => {
    const random = prng(42);
    const garbage: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) {
      const frame = new Uint8Array(Math.floor(random() * 200));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
      if (frame.length > 14 && random() < 0.7) frame.set([0x08, 0x00, 0x45], 12);
      garbage.push(frame.length > 34 ? withIpv4Checksum(frame, 14) : frame);
    }
    expectTypedOutcomes(garbage);
  });
});
