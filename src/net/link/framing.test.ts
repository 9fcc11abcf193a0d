import { describe, expect, it } from "vitest";
import { PacketError } from "../../errors.js";
import { StreamFrameDecoder, encodeStreamFrame } from "./framing.js";

describe("-netdev stream framing", () => {
  it("reassembles frames split at every byte boundary", () => {
    const frames = [Buffer.alloc(14, 1), Buffer.alloc(60, 2), Buffer.alloc(1514, 3)];
    const wire = Buffer.concat(frames.map((f) => encodeStreamFrame(f)));
    for (let cut = 0; cut <= wire.length; cut += 7) {
      const decoder = new StreamFrameDecoder(1514);
      const out = [...decoder.push(wire.subarray(0, cut)), ...decoder.push(wire.subarray(cut))];
      expect(out.map((f) => Buffer.from(f))).toEqual(frames);
      expect(decoder.buffered).toBe(0);
    }
  });

  it("rejects lengths outside 14..maxFrame before buffering them", () => {
    const decoder = new StreamFrameDecoder(1514);
    expect(() => decoder.push(Buffer.from([0, 0, 0x05, 0xeb]))).toThrow(PacketError);
    expect(() => new StreamFrameDecoder(1514).push(Buffer.from([0, 0, 0, 13]))).toThrow(PacketError);
    expect(() => new StreamFrameDecoder(1514).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(
      PacketError,
    );
  });

  it("never holds more than one maximal frame", () => {
    const decoder = new StreamFrameDecoder(1514);
    decoder.push(Buffer.from([0, 0, 0x05, 0xea]));
    for (let i = 0; i < 1513; i++) decoder.push(Buffer.from([i & 0xff]));
    expect(decoder.buffered).toBe(4 + 1513);
    expect(decoder.push(Buffer.from([0]))).toHaveLength(1);
    expect(decoder.buffered).toBe(0);
  });
});
