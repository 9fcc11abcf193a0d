import * as dnsPacket from "dns-packet";
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { NameCache } from "./name-cache.js";
import { DnsResolver } from "./resolver.js";
import { parseDnsServer, serversFromResolvConf } from "./servers.js";

function query(name: string, id = 7): Buffer {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name }],
  });
}

describe("NameCache", () => {
  it("expires names with their TTL (with a floor) and bounds its size", () => {
    let now = 0;
    const cache = new NameCache({ now: () => now, maxAddresses: 2, minTtlSeconds: 5 });
    cache.record("45.33.0.80", "A.Example.", 0);
    cache.record("45.33.0.80", "b.example", 60);
    expect(cache.namesOf("45.33.0.80").sort()).toEqual(["a.example", "b.example"]);
    now = 6_000;
    expect(cache.namesOf("45.33.0.80")).toEqual(["b.example"]);
    cache.record("45.33.0.81", "c.example", 60);
    cache.record("45.33.0.82", "d.example", 60);
    expect(cache.size).toBe(2);
    expect(cache.namesOf("45.33.0.80")).toEqual([]);
  });
});

describe("DNS servers", () => {
  it("parses ip[:port] and [v6]:port, rejects garbage", () => {
    expect(parseDnsServer("127.0.0.1:5353")).toEqual({ address: "127.0.0.1", family: 4, port: 5353 });
    expect(parseDnsServer("[::1]:53")).toMatchObject({ family: 6, port: 53 });
    expect(parseDnsServer("9.9.9.9")).toMatchObject({ port: 53 });
    expect(() => parseDnsServer("resolver.example")).toThrow(InvalidConfigError);
    expect(() => parseDnsServer("127.0.0.1:70000")).toThrow(InvalidConfigError);
    expect(serversFromResolvConf("# x\nnameserver 127.0.0.53\nnameserver bogus\n")).toHaveLength(1);
  });
});

describe("DnsResolver", () => {
  it("answers NXDOMAIN for blocked names, FORMERR for garbage, SERVFAIL without upstream", async () => {
    const names = new NameCache({ now: () => 0 });
    const resolver = new DnsResolver({
      servers: [],
      blockLists: { blockDomains: ["blocked.test"], blockDomainSuffixes: ["evil.test"] },
      rebindProtection: true,
      names,
    });
    const rcode = async (bytes: Buffer) => {
      const answer = await resolver.answer(bytes, "udp");
      if (answer === undefined) return undefined;
      return (answer[3] ?? 0) & 0x0f; // RCODE
    };
    expect(await rcode(query("blocked.test"))).toBe(3); // NXDOMAIN
    expect(await rcode(query("a.b.evil.test"))).toBe(3);
    expect(await rcode(query("fine.test"))).toBe(2); // SERVFAIL
    expect(await rcode(Buffer.concat([query("x.test").subarray(0, 12), Buffer.from([0xc0, 0xff])]))).toBe(1); // FORMERR
    expect(await resolver.answer(Buffer.from([1, 2, 3]), "udp")).toBeUndefined();
    expect(resolver.counters.blocked).toBe(2);
  });

  it("drops non-public answers (rebind protection) and learns the public ones", async () => {
    const upstream = createSocket("udp4");
    upstream.on("message", (message, peer) => {
      const q = dnsPacket.decode(message);
      const name = q.questions?.[0]?.name ?? "";
      const answer = dnsPacket.encode({
        type: "response",
        id: q.id ?? 0,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions ?? [],
        answers: [
          { type: "A", name, ttl: 60, data: "45.33.0.80" },
          { type: "A", name, ttl: 60, data: "10.1.2.3" },
          { type: "A", name, ttl: 60, data: "127.0.0.1" },
        ],
      });
      upstream.send(answer, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => upstream.bind(0, "127.0.0.1", resolve));
    try {
      const names = new NameCache({ now: () => 0 });
      const resolver = new DnsResolver({
        servers: [{ address: "127.0.0.1", family: 4, port: upstream.address().port }],
        blockLists: { blockDomains: [], blockDomainSuffixes: [] },
        rebindProtection: true,
        names,
      });
      const answer = await resolver.answer(query("mixed.test", 99), "udp");
      const decoded = dnsPacket.decode(answer ?? Buffer.alloc(0));
      expect(decoded.id).toBe(99);
      expect((decoded.answers ?? []).map((a) => (a.type === "A" ? a.data : a.type))).toEqual(["45.33.0.80"]);
      expect(resolver.counters.rebindDropped).toBe(2);
      expect(names.namesOf("45.33.0.80")).toEqual(["mixed.test"]);
      expect(names.namesOf("10.1.2.3")).toEqual([]);
    } finally {
      upstream.close();
    }
  });
});
