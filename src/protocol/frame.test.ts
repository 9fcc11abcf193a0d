import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as C from "./constants.js";
import { FrameDecoder, FrameError, encodeFrame, encodeWindow } from "./frame.js";
import type { FrameKind } from "./constants.js";
import { negotiateVersion } from "./messages.js";

interface Vectors {
  version: number;
  constants: {
    maxPayload: number;
    headerSize: number;
    initialWindow: number;
    maxDataChunk: number;
    kinds: Record<string, number>;
  };
  valid: { name: string; stream: number; kind: FrameKind; payloadHex: string; hex: string }[];
  invalid: { name: string; hex: string; error: string }[];
  negotiation: { host: [number, number]; agent: [number, number]; chosen: number }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../protocol/vectors.json", import.meta.url), "utf8"),
) as Vectors;

describe("protocol constants", () => {
  it("match the shared vectors", () => {
    expect(vectors.version).toBe(C.MAX_PROTOCOL_VERSION);
    expect(vectors.constants.maxPayload).toBe(C.MAX_PAYLOAD);
    expect(vectors.constants.headerSize).toBe(C.HEADER_SIZE);
    expect(vectors.constants.initialWindow).toBe(C.INITIAL_WINDOW);
    expect(vectors.constants.maxDataChunk).toBe(C.MAX_DATA_CHUNK);
    expect(vectors.constants.kinds).toEqual({ ...C.FrameKind });
  });
});

describe("frame codec", () => {
  for (const v of vectors.valid) {
    it(`encodes and decodes: ${v.name}`, () => {
      const payload = Buffer.from(v.payloadHex, "hex");
      expect(encodeFrame(v.stream, v.kind, payload).toString("hex")).toBe(v.hex);
      const frames = new FrameDecoder().push(Buffer.from(v.hex, "hex"));
      expect(frames).toHaveLength(1);
      expect(frames[0]?.stream).toBe(v.stream);
      expect(frames[0]?.kind).toBe(v.kind);
      expect(frames[0]?.payload.toString("hex")).toBe(v.payloadHex);
    });
  }

  for (const v of vectors.invalid) {
    it(`rejects: ${v.name}`, () => {
      const decoder = new FrameDecoder();
      let error: unknown;
      try {
        decoder.push(Buffer.from(v.hex, "hex"));
        decoder.end();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(FrameError);
      expect((error as FrameError).reason).toBe(v.error);
      // A failed decoder stays failed instead of resynchronising on garbage.
      expect(() => decoder.push(Buffer.from(vectors.valid[0]?.hex ?? "", "hex"))).toThrow(FrameError);
    });
  }

  it("decodes all vectors fed one byte at a time", () => {
    const all = Buffer.concat(vectors.valid.map((v) => Buffer.from(v.hex, "hex")));
    const decoder = new FrameDecoder();
    const frames = [];
    for (const byte of all) frames.push(...decoder.push(Buffer.from([byte])));
    decoder.end();
    expect(frames.map((f) => f.payload.toString("hex"))).toEqual(vectors.valid.map((v) => v.payloadHex));
    expect(decoder.pendingBytes).toBe(0);
  });

  it("rejects an oversized length before buffering its payload", () => {
    const header = Buffer.alloc(9);
    header.writeUInt32BE(C.MAX_PAYLOAD + 1, 0);
    header.writeUInt8(C.FrameKind.STDOUT, 8);
    const decoder = new FrameDecoder();
    expect(() => decoder.push(header)).toThrow(/exceeds the maximum/);
  });

  it("accepts a maximal frame and refuses to encode a bigger one", () => {
    const payload = Buffer.alloc(C.MAX_PAYLOAD, 7);
    const frames = new FrameDecoder().push(encodeFrame(1, C.FrameKind.STDOUT, payload));
    expect(frames[0]?.payload.length).toBe(C.MAX_PAYLOAD);
    expect(() => encodeFrame(1, C.FrameKind.STDOUT, Buffer.alloc(C.MAX_PAYLOAD + 1))).toThrow(RangeError);
  });

  it("encodes window credits", () => {
    expect(encodeWindow(1, 65536).toString("hex")).toBe("00000004000000010600010000");
  });
});

describe("version negotiation", () => {
  for (const n of vectors.negotiation) {
    it(`host ${n.host.join("-")} agent ${n.agent.join("-")} -> ${n.chosen}`, () => {
      expect(negotiateVersion(n.host, n.agent)).toBe(n.chosen);
      expect(negotiateVersion(n.agent, n.host)).toBe(n.chosen);
    });
  }
});
