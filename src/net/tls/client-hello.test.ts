import { randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import { connect } from "node:tls";
import { describe, expect, it } from "vitest";
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from "./client-hello.js";

/** The first flight of a real node:tls client (its ClientHello), captured without any network. */
async function realHello(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  return new Promise((resolve) => {
    const captured: Buffer[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        captured.push(chunk);
        callback();
        resolve(Buffer.concat(captured));
        setImmediate(() => client.destroy());
      },
    });
    const client = connect({ socket, ...options });
    client.on("error", () => undefined);
  });
}

/** Re-frames the handshake bytes of `hello` into records of at most `size` bytes. */
function reframe(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5);
  const records: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size);
    const header = Buffer.from([0x16, 3, 1, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    records.push(header, part);
  }
  return Buffer.concat(records);
}

describe("parseClientHello", () => {
  it("reads SNI and ALPN from a real hello", async () => {
    const hello = await realHello({ servername: "Api.Example.COM", ALPNProtocols: ["h2", "http/1.1"] });
    expect(parseClientHello(hello)).toEqual({
      kind: "hello",
      hello: { serverName: "api.example.com", alpn: ["h2", "http/1.1"] },
    });
  });

  it("reports no name when the client sent none", async () => {
    const hello = await realHello({});
    const result = parseClientHello(hello);
    expect(result).toEqual({ kind: "hello", hello: { serverName: undefined, alpn: [] } });
  });

  it("asks for more at every split point of a hello, then reads it", async () => {
    const hello = await realHello({ servername: "split.test", ALPNProtocols: ["http/1.1"] });
    for (let cut = 0; cut < hello.length; cut++) {
      expect(parseClientHello(hello.subarray(0, cut)).kind).toBe("incomplete");
    }
    expect(parseClientHello(hello)).toMatchObject({ kind: "hello", hello: { serverName: "split.test" } });
  });

  it("joins a hello spread over several records", async () => {
    const hello = await realHello({ servername: "records.test", ALPNProtocols: ["h2"] });
    for (const size of [1, 7, 100]) {
      const spread = reframe(hello, size);
      expect(parseClientHello(spread)).toEqual({
        kind: "hello",
        hello: { serverName: "records.test", alpn: ["h2"] },
      });
    }
  });

  it.each([
    ["plain HTTP", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["an alert record", Buffer.from([0x15, 3, 3, 0, 2, 2, 40])],
    ["a server hello", Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0])],
    ["an empty record", Buffer.from([0x16, 3, 1, 0, 0])],
    ["an oversized record", Buffer.from([0x16, 3, 1, 0xff, 0xff])],
    ["a hello claiming 1 MiB", Buffer.from([0x16, 3, 1, 0, 4, 1, 0x10, 0, 0])],
  ])("rejects %s", (_what, bytes) => {
    expect(parseClientHello(bytes).kind).toBe("invalid");
  });

  it("rejects a bad server name and a truncated extension block", async () => {
    const hello = await realHello({ servername: "good.test" });
    const at = hello.indexOf("good.test");
    const bad = Buffer.from(hello);
    bad.write("go d", at, "latin1");
    expect(parseClientHello(bad)).toEqual({ kind: "invalid", reason: "bad server name" });
    // Claim one more extension byte than the hello holds (the extensions length sits before the first one).
    const truncated = Buffer.from(hello);
    const lengthAt = 5 + 4 + 2 + 32 + 1 + (hello[5 + 4 + 2 + 32] ?? 0);
    const suites = truncated.readUInt16BE(lengthAt);
    const extAt = lengthAt + 2 + suites + 1 + (truncated[lengthAt + 2 + suites] ?? 0);
    truncated.writeUInt16BE(truncated.readUInt16BE(extAt) + 1, extAt);
    expect(parseClientHello(truncated).kind).toBe("invalid");
  });

  it("gives up after the byte bound instead of waiting forever", () => {
    const header = Buffer.from([0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0x7f, 0xfb]);
    const big = Buffer.concat([header, Buffer.alloc(MAX_CLIENT_HELLO_BYTES)]);
    expect(parseClientHello(big.subarray(0, 100)).kind).toBe("incomplete");
    expect(parseClientHello(big).kind).toBe("invalid");
  });

  it("never throws on hostile bytes", async () => {
    const hello = await realHello({ servername: "fuzz.test", ALPNProtocols: ["h2", "http/1.1"] });
    for (let i = 0; i < 3000; i++) {
      const mutated = Buffer.from(hello);
      for (let j = 0; j < 1 + (i % 8); j++) {
        const pos = randomBytes(2).readUInt16BE(0) % mutated.length;
        mutated[pos] = randomBytes(1)[0] ?? 0;
      }
      const cut = mutated.subarray(0, randomBytes(2).readUInt16BE(0) % (mutated.length + 1));
      expect(() => parseClientHello(cut)).not.toThrow();
      expect(() => parseClientHello(randomBytes(i % 600))).not.toThrow();
    }
  });
});
