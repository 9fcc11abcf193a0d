import { describe, expect, it } from "vitest";
import { PacketError } from "../../errors.js";
import { parseIpv4 } from "./ipv4.js";
import { patched, recorded } from "./recorded.fixture.js";
import { TcpFlag, buildTcp, parseTcp } from "./tcp.js";
import { MAX_WINDOW_SCALE, buildTcpOptions, parseTcpOptions } from "./tcp-options.js";

function tcpOf(frame: Uint8Array) {
  const ip = parseIpv4(frame.subarray(14));
  if (!ip.ok) throw new Error(ip.message);
  return { bytes: ip.value.payload, pseudo: { source: ip.value.source, destination: ip.value.destination } };
}

/** A copy of a TCP segment with its checksum recomputed after a patch. */
function fixChecksum(bytes: Uint8Array, pseudo: { source: number; destination: number }): Uint8Array {
  const parsedHeader = Uint8Array.from(bytes);
  parsedHeader[16] = 0;
  parsedHeader[17] = 0;
  let sum =
    (pseudo.source >>> 16) +
    (pseudo.source & 0xffff) +
    (pseudo.destination >>> 16) +
    (pseudo.destination & 0xffff) +
    6 +
    bytes.length;
  for (let i = 0; i < bytes.length; i += 2) sum += ((parsedHeader[i] ?? 0) << 8) | (parsedHeader[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  parsedHeader[16] = (~sum >> 8) & 0xff;
  parsedHeader[17] = ~sum & 0xff;
  return parsedHeader;
}

describe("parseTcp", () => {
  it("parses the recorded SYN with its options", () => {
    const { bytes, pseudo } = tcpOf(recorded.tcpSyn);
    expect(parseTcp(bytes, pseudo)).toMatchObject({
      ok: true,
      value: {
        sourcePort: 49462,
        destinationPort: 18080,
        seq: 0x78df4679,
        ack: 0,
        headerLength: 40,
        flags: TcpFlag.syn,
        window: 64240,
        options: {
          mss: 1460,
          sackPermitted: true,
          timestamps: { value: 0x12559588, echo: 0 },
          windowScale: 10,
        },
      },
    });
  });

  it("parses the recorded SYN-ACK, data and FIN", () => {
    const synAck = tcpOf(recorded.tcpSynAck);
    expect(parseTcp(synAck.bytes, synAck.pseudo)).toMatchObject({
      ok: true,
      value: { flags: TcpFlag.syn | TcpFlag.ack, ack: 0x78df467a },
    });
    const data = tcpOf(recorded.tcpData);
    const parsedData = parseTcp(data.bytes, data.pseudo);
    expect(parsedData.ok && Buffer.from(parsedData.value.payload).toString()).toBe("hello");
    const fin = tcpOf(recorded.tcpFin);
    expect(parseTcp(fin.bytes, fin.pseudo)).toMatchObject({
      ok: true,
      value: { flags: TcpFlag.fin | TcpFlag.ack },
    });
  });

  it("rebuilds the recorded SYN byte for byte", () => {
    const { bytes, pseudo } = tcpOf(recorded.tcpSyn);
    const seg = parseTcp(bytes, pseudo);
    if (!seg.ok) throw new Error(seg.message);
    const v = seg.value;
    const built = buildTcp({
      ...pseudo,
      sourcePort: v.sourcePort,
      destinationPort: v.destinationPort,
      seq: v.seq,
      ack: v.ack,
      flags: v.flags,
      window: v.window,
      options: v.options,
      payload: v.payload,
    });
    // Our option layout differs from Linux's (same options, different order/padding): compare semantically.
    expect(parseTcp(built, pseudo)).toMatchObject({
      ok: true,
      value: { ...v, headerLength: built.length, payload: v.payload },
    });
  });

  it.each([
    ["short header", (b: Uint8Array) => b.subarray(0, 19), "tcp", "truncated"],
    ["data offset 4", (b: Uint8Array) => patched(b, 12, [0x40]), "tcp", "bad-length"],
    [
      "data offset beyond the segment",
      (b: Uint8Array) => patched(b, 12, [0xf0]).subarray(0, 40),
      "tcp",
      "truncated",
    ],
    ["bad checksum", (b: Uint8Array) => patched(b, 16, [0, 0]), "tcp", "bad-checksum"],
  ])("rejects %s", (_name, mutate, layer, reason) => {
    const { bytes, pseudo } = tcpOf(recorded.tcpSyn);
    expect(parseTcp(mutate(bytes), pseudo)).toMatchObject({ ok: false, layer, reason });
  });

  it("rejects a segment whose options are garbage", () => {
    const { bytes, pseudo } = tcpOf(recorded.tcpSyn);
    // MSS option claiming length 40 (overruns the 20 option bytes).
    expect(parseTcp(fixChecksum(patched(bytes, 21, [40]), pseudo), pseudo)).toMatchObject({
      ok: false,
      layer: "tcp-options",
      reason: "truncated",
    });
  });

  it("throws PacketError on out-of-range build fields", () => {
    const base = {
      source: 0,
      destination: 0,
      sourcePort: 1,
      destinationPort: 2,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      payload: new Uint8Array(),
    };
    expect(() => buildTcp({ ...base, seq: 2 ** 32 })).toThrow(PacketError);
    expect(() => buildTcp({ ...base, window: 65536 })).toThrow(PacketError);
    expect(() => buildTcp({ ...base, flags: 0x200 })).toThrow(PacketError);
    expect(() => buildTcp({ ...base, options: { mss: 70000 } })).toThrow(PacketError);
    expect(() => buildTcp({ ...base, options: { windowScale: 15 } })).toThrow(PacketError);
    expect(() => buildTcp({ ...base, payload: new Uint8Array(65500) })).toThrow(PacketError);
  });
});

describe("parseTcpOptions", () => {
  const opts = (...bytes: number[]) => parseTcpOptions(Uint8Array.from(bytes));

  it.each([
    ["empty", [], {}],
    ["NOPs only", [1, 1, 1, 1], {}],
    ["EOL stops parsing (garbage after it ignored)", [2, 4, 5, 0xb4, 0, 0xff, 0xff], { mss: 1460 }],
    ["window scale clamped to 14", [3, 3, 20], { windowScale: MAX_WINDOW_SCALE }],
    ["SACK blocks", [5, 10, 0, 0, 0, 1, 0, 0, 0, 2], { sack: [{ left: 1, right: 2 }] }],
    ["unknown option skipped", [30, 4, 9, 9, 2, 4, 2, 0], { mss: 512 }],
    ["timestamps", [8, 10, 0, 0, 0, 1, 0, 0, 0, 2], { timestamps: { value: 1, echo: 2 } }],
  ])("%s", (_name, bytes, expected) => {
    expect(opts(...bytes)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["kind with no length byte", [2], "truncated"],
    ["length 0", [30, 0], "bad-field"],
    ["length 1", [30, 1, 1, 1], "bad-field"],
    ["overrun", [2, 4, 5], "truncated"],
    ["MSS length 3", [2, 3, 5], "bad-field"],
    ["window scale length 4", [3, 4, 1, 1], "bad-field"],
    ["SACK-permitted length 3", [4, 3, 0], "bad-field"],
    ["SACK length 6", [5, 6, 0, 0, 0, 0], "bad-field"],
    ["timestamps length 6", [8, 6, 0, 0, 0, 0], "bad-field"],
  ])("rejects %s", (_name, bytes, reason) => {
    expect(opts(...bytes)).toMatchObject({ ok: false, layer: "tcp-options", reason });
  });

  it("round-trips what we build, padded to 4 bytes", () => {
    const options = { mss: 1460, windowScale: 7, sackPermitted: true, timestamps: { value: 5, echo: 6 } };
    const bytes = buildTcpOptions(options);
    expect(bytes.length % 4).toBe(0);
    expect(parseTcpOptions(bytes)).toEqual({ ok: true, value: options });
    expect(buildTcpOptions({}).length).toBe(0);
  });
});

describe("TCP fuzz", () => {
  let state = 99;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };

  it("parseTcpOptions never throws and only accepts what it understands", () => {
    const kinds = [0, 1, 2, 3, 4, 5, 8, 30, 255];
    const problems: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 41));
      for (let j = 0; j < bytes.length; j++) {
        bytes[j] =
          random() < 0.4 ? (kinds[Math.floor(random() * kinds.length)] ?? 0) : Math.floor(random() * 12);
      }
      const result = parseTcpOptions(bytes);
      const sane = result.ok
        ? (result.value.mss ?? 0) <= 0xffff &&
          (result.value.windowScale ?? 0) <= MAX_WINDOW_SCALE &&
          (result.value.sack ?? []).length <= 4
        : result.reason === "truncated" || result.reason === "bad-field";
      if (!sane) problems.push(Buffer.from(bytes).toString("hex"));
    }
    expect(problems).toEqual([]);
  });

  it("parseTcp never throws on flipped segments with repaired checksums", () => {
    const { bytes, pseudo } = tcpOf(recorded.tcpSyn);
    const problems: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const copy = Uint8Array.from(bytes.subarray(0, Math.floor(random() * (bytes.length + 1))));
      for (let f = 0; f < 3; f++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      const result = parseTcp(copy.length >= 18 ? fixChecksum(copy, pseudo) : copy, pseudo);
      const sane = result.ok
        ? result.value.headerLength <= copy.length
        : ["truncated", "bad-length", "bad-checksum", "bad-field"].includes(result.reason);
      if (!sane) problems.push(Buffer.from(copy).toString("hex"));
    }
    expect(problems).toEqual([]);
  });
});
