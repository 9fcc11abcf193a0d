import { connect as h2connect, createServer as h2server } from "node:http2";
import type { Http2Server, IncomingHttpHeaders } from "node:http2";
import { createServer, connect } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RelayVerdict } from "../net/tls/plaintext-relay.js";
import { Secret } from "./config.js";
import { flowTo, testGuard } from "./guard.fixture.js";
import type { SecretGuard } from "./guard.js";

const VALUE = "sk-live-0123456789abcdef-LONGER-THAN-THE-PLACEHOLDER";
const PLACEHOLDER = "$MSB_API_KEY";
const secrets = [
  Secret.env("API_KEY", { value: VALUE, allowHosts: ["api.example.com"] }),
  Secret.env("TINY", { value: "t", allowHosts: ["api.example.com"] }),
];

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An h2c echo server, and a loopback proxy that passes every connection through a guard session. */
async function setUp(
  host: string,
): Promise<{ url: string; received: Received[]; guard: SecretGuard; blocks: string[]; close: () => void }> {
  const received: Received[] = [];
  const server: Http2Server = h2server();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      received.push({ headers, body });
      stream.respond({ ":status": 200 });
      stream.end(`got ${body.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { guard } = testGuard(secrets);
  const blocks: string[] = [];
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((guest) => {
    const session = guard.open(flowTo(host)) ?? fail();
    const upstream = connect((server.address() as AddressInfo).port, "127.0.0.1");
    sockets.add(guest).add(upstream);
    const apply = (verdict: RelayVerdict, to: Socket): void => {
      if ("block" in verdict) {
        blocks.push(verdict.block);
        guest.destroy();
        upstream.destroy();
        return;
      }
      for (const chunk of verdict.forward) to.write(chunk);
    };
    guest.on("data", (c: Buffer) => {
      apply(session.fromGuest(c), upstream);
    });
    upstream.on("data", (c: Buffer) => {
      apply(session.fromUpstream?.(c) ?? { forward: [c] }, guest);
    });
    guest.on("end", () => upstream.end());
    upstream.on("end", () => guest.end());
    for (const s of [guest, upstream]) {
      s.on("error", () => undefined);
      s.on("close", () => {
        session.close();
      });
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    received,
    guard,
    blocks,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
      server.close();
    },
  };
}

/** POSTs `parts` as separate writes (separate DATA frames) and resolves with the response body. */
function post(url: string, headers: Record<string, string>, parts: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = h2connect(url);
    client.on("error", reject);
    const req = client.request({ ":method": "POST", ":path": `/echo?k=${PLACEHOLDER}`, ...headers });
    req.setEncoding("utf8");
    let body = "";
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      client.close();
      resolve(body);
    });
    req.on("error", (err) => {
      client.close();
      reject(err instanceof Error ? err : new Error(String(err)));
    });
    for (const part of parts) req.write(part);
    req.end();
  });
}

let close: (() => void) | undefined;
afterEach(() => {
  close?.();
  close = undefined;
});

describe("HTTP/2 rewriting (node:http2 client → guard → node:http2 server, loopback)", () => {
  it("substitutes in headers (HPACK) and in DATA split one byte per frame", async () => {
    const setup = await setUp("api.example.com");
    close = setup.close;
    const body = `{"key":"${PLACEHOLDER}","tiny":"$MSB_TINY"}`;
    const reply = await post(
      setup.url,
      {
        authorization: `Bearer ${PLACEHOLDER}`,
        "x-two": "$MSB_TINY",
        "proxy-authorization": `Basic ${Buffer.from(`u:${PLACEHOLDER}`).toString("base64")}`,
      },
      [...Array.from(Buffer.from(body), (b) => String.fromCharCode(b))],
    );
    const expected = `{"key":"${VALUE}","tiny":"t"}`;
    expect(reply).toBe(`got ${expected.length}`);
    expect(setup.received).toHaveLength(1);
    const [got] = setup.received;
    expect(got?.headers.authorization).toBe(`Bearer ${VALUE}`);
    expect(got?.headers["x-two"]).toBe("t");
    expect(got?.headers["proxy-authorization"]).toBe(`Basic ${Buffer.from(`u:${VALUE}`).toString("base64")}`);
    expect(got?.headers[":path"]).toBe(`/echo?k=${VALUE}`);
    expect(got?.body).toBe(expected);
    expect(setup.guard.counters).toMatchObject({ substituted: 6, violations: 0, blocked: 0 });
  });

  it("keeps flow control consistent over bodies larger than the windows, on one connection", async () => {
    const setup = await setUp("api.example.com");
    close = setup.close;
    // 40 placeholders in ~1 MB: the substitutions add ~1.6 KB beyond what the guest's windows counted.
    const piece = `${"x".repeat(25_000)}${PLACEHOLDER}`;
    const parts = Array.from({ length: 40 }, () => piece);
    const client = h2connect(setup.url);
    try {
      for (let round = 0; round < 3; round++) {
        const reply = await new Promise<string>((resolve, reject) => {
          const req = client.request({ ":method": "POST", ":path": "/big" });
          let body = "";
          req.setEncoding("utf8");
          req.on("data", (c: string) => (body += c));
          req.on("end", () => {
            resolve(body);
          });
          req.on("error", reject);
          for (const part of parts) req.write(part);
          req.end();
        });
        const expected = parts.join("").replaceAll(PLACEHOLDER, VALUE);
        expect(reply).toBe(`got ${expected.length}`);
        expect(setup.received[round]?.body === expected).toBe(true);
      }
    } finally {
      client.close();
    }
  });

  it("fixes content-length: held bodies, a placeholder early in a larger body, concurrent requests", async () => {
    const setup = await setUp("api.example.com");
    close = setup.close;
    const client = h2connect(setup.url);
    const send = (body: string, parts = 4): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        const req = client.request({
          ":method": "POST",
          ":path": "/len",
          "content-length": String(Buffer.byteLength(body)),
        });
        let reply = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (reply += c));
        req.on("end", () => {
          resolve(reply);
        });
        req.on("error", reject);
        const size = Math.ceil(body.length / parts);
        for (let at = 0; at < body.length; at += size) req.write(body.slice(at, at + size));
        req.end();
      });
    try {
      const small = `k=${PLACEHOLDER}`;
      const early = `${PLACEHOLDER}${"e".repeat(100_000)}`;
      // Concurrent: the second stream's HEADERS may come while the first is held.
      const replies = await Promise.all([send(small), send(early, 20), send("no placeholder here")]);
      expect(replies).toEqual([
        `got ${small.replace(PLACEHOLDER, VALUE).length}`,
        `got ${early.replace(PLACEHOLDER, VALUE).length}`,
        "got 19",
      ]);
      const late = `${"l".repeat(40_000)}${PLACEHOLDER}`;
      const blocked = await send(late, 8).catch((err: unknown) => `failed: ${String(err)}`);
      expect(blocked).not.toMatch(/^got/);
      expect(setup.blocks[0]).toMatch(/content-length cannot be substituted/);
    } finally {
      client.close();
    }
  });

  it("blocks a placeholder in a header bound for another host", async () => {
    const setup = await setUp("evil.example.net");
    close = setup.close;
    const reply = await post(setup.url, { authorization: `Bearer ${PLACEHOLDER}` }, ["x"]).catch(
      (err: unknown) => `failed: ${String(err)}`,
    );
    expect(reply).not.toMatch(/^got/);
    expect(setup.received).toHaveLength(0);
    expect(setup.blocks[0]).toMatch(/API_KEY.*evil\.example\.net/);
    expect(setup.guard.counters.violations).toBe(1);
  });

  it("a request without placeholders passes unchanged", async () => {
    const setup = await setUp("elsewhere.example.net");
    close = setup.close;
    const client = h2connect(setup.url);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = client.request({ ":method": "POST", ":path": "/plain", "content-type": "text/plain" });
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => {
          resolve(body);
        });
        req.on("error", reject);
        req.end("hello");
      });
      expect(reply).toBe("got 5");
      expect(setup.received[0]?.headers["content-type"]).toBe("text/plain");
    } finally {
      client.close();
    }
  });
});

function fail(): never {
  throw new Error("no session");
}
