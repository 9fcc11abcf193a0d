import { describe, expect, it } from "vitest";
import { encodeHeaders, HpackDecoder, HpackError, readInteger, writeInteger } from "./hpack.js";
import { HuffmanDecoder, huffmanCodes, huffmanEncode } from "./hpack-huffman.js";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");
const text = (fields: { name: Buffer; value: Buffer }[]): string[] =>
  fields.map((f) => `${f.name.toString()}: ${f.value.toString()}`);

describe("HPACK Huffman code", () => {
  it("fills the code space exactly (Kraft equality) with 257 codes of 5 to 30 bits", () => {
    const codes = huffmanCodes();
    expect(codes.filter(Boolean)).toHaveLength(257);
    let sum = 0;
    for (const { length } of codes) sum += 2 ** (30 - length);
    expect(sum).toBe(2 ** 30);
    expect(codes[0x30]).toEqual({ code: 0x0, length: 5 }); // '0'
    expect(codes[0x3a]).toEqual({ code: 0x5c, length: 7 }); // ':'
    expect(codes[256]).toEqual({ code: 0x3fffffff, length: 30 }); // EOS
  });

  it("decodes the RFC 7541 examples and round-trips every byte value", () => {
    const decoder = new HuffmanDecoder();
    expect(decoder.decode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"))?.toString()).toBe("www.example.com");
    expect(decoder.decode(hex("a8eb 1064 9cbf"))?.toString()).toBe("no-cache");
    expect(decoder.decode(hex("25a8 49e9 5ba9 7d7f"))?.toString()).toBe("custom-key");
    expect(huffmanEncode(Buffer.from("custom-value"))).toEqual(hex("25a8 49e9 5bb8 e8b4 bf"));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decoder.decode(huffmanEncode(all))).toEqual(all);
  });

  it("refuses padding that is not all ones or longer than 7 bits", () => {
    const decoder = new HuffmanDecoder();
    expect(decoder.decode(hex("00"))).toBeUndefined(); // '0' then 3 zero bits
    expect(decoder.decode(hex("ff ff"))).toBeUndefined(); // 16 bits of padding
    expect(decoder.decode(hex("3fffffff"))).toBeUndefined(); // EOS
  });
});

describe("HPACK", () => {
  it("reads and writes integers with any prefix (RFC 7541 C.1)", () => {
    const out: number[] = [];
    writeInteger(out, 1337, 5, 0);
    expect(out).toEqual([31, 154, 10]);
    expect(readInteger(Buffer.from(out), 0, 5)).toEqual([1337, 3]);
    expect(() => readInteger(Buffer.from([31, 0xff, 0xff, 0xff, 0xff, 0xff]), 0, 5)).toThrow(HpackError);
  });

  it("decodes the RFC 7541 C.4 requests in sequence (Huffman, dynamic table)", () => {
    const decoder = new HpackDecoder();
    expect(text(decoder.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")))).toEqual([
      ":method: GET",
      ":scheme: http",
      ":path: /",
      ":authority: www.example.com",
    ]);
    expect(text(decoder.decode(hex("8286 84be 5886 a8eb 1064 9cbf")))).toEqual([
      ":method: GET",
      ":scheme: http",
      ":path: /",
      ":authority: www.example.com",
      "cache-control: no-cache",
    ]);
    expect(text(decoder.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")))).toEqual([
      ":method: GET",
      ":scheme: https",
      ":path: /index.html",
      ":authority: www.example.com",
      "custom-key: custom-value",
    ]);
  });

  it("re-encodes without the dynamic table, keeping never-indexed fields so", () => {
    const fields = [
      { name: Buffer.from(":method"), value: Buffer.from("GET"), sensitive: false },
      { name: Buffer.from("authorization"), value: Buffer.from("Bearer x"), sensitive: true },
      { name: Buffer.from("x-custom"), value: Buffer.from("v"), sensitive: false },
    ];
    const block = encodeHeaders(fields);
    expect(block[0]).toBe(0x82);
    expect(new HpackDecoder().decode(block)).toEqual(fields);
    // A fresh decoder twice: nothing was added to a dynamic table.
    const decoder = new HpackDecoder();
    decoder.decode(block);
    expect(() => decoder.decode(Buffer.from([0xbe]))).toThrow(HpackError);
  });

  it("refuses out-of-range indices, oversized tables and truncated strings", () => {
    expect(() => new HpackDecoder().decode(Buffer.from([0x80]))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(Buffer.from([0xff, 0x00]))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(hex("3fe1ff7f"))).toThrow(/size over the limit/);
    expect(() => new HpackDecoder().decode(hex("0003 6162"))).toThrow(/truncated/);
  });
});
