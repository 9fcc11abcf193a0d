import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { Secret } from "./config.js";
import { feed, flowTo, forwarded, testGuard } from "./guard.fixture.js";
import { HTTP1_LIMITS } from "./http1.js";

const VALUE = "sk-live-0123456789abcdef-LONGER-THAN-THE-PLACEHOLDER";
const secrets = [
  Secret.env("API_KEY", { value: VALUE, allowHosts: ["api.example.com"] }),
  Secret.env("SHORT", { value: "s1", allowHosts: ["api.example.com"], onViolation: "block-and-terminate" }),
];

const request = (body: string, extra = ""): string =>
  `POST /v1/x?key=$MSB_API_KEY HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer $MSB_API_KEY\r\n${extra}` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const chunked =
  "POST /c HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n" +
  '5\r\n{"k":\r\n4\r\n"$MS\r\n9;ext=1\r\nB_API_KEY\r\n3\r\n","\r\na\r\nx":"$MSB_S\r\n6\r\nHORT"}\r\n0\r\nX-Trailer: $MSB_SHORT\r\n\r\n';

describe("HTTP/1.1 rewriting", () => {
  it("substitutes in the request line, headers and body and fixes Content-Length, split at every byte", () => {
    const input = Buffer.from(
      request(`{"key":"$MSB_API_KEY","short":"$MSB_SHORT"}`, "Expect: 100-continue\r\n"),
    );
    const expected =
      `POST /v1/x?key=${VALUE} HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer ${VALUE}\r\n` +
      `Content-Length: ${`{"key":"${VALUE}","short":"s1"}`.length}\r\n\r\n{"key":"${VALUE}","short":"s1"}`;
    for (let size = 1; size <= input.length; size++) {
      const { guard } = testGuard(secrets);
      const out = feed(guard.open(flowTo("api.example.com")) ?? fail(), input, size);
      expect(Buffer.isBuffer(out) ? out.toString() : out, `chunks of ${size}`).toBe(expected);
    }
  });

  it("rewrites chunked bodies and trailers, a placeholder split across chunks included", () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      const { guard } = testGuard(secrets);
      const out = feed(guard.open(flowTo("api.example.com")) ?? fail(), Buffer.from(chunked), size);
      const text = Buffer.isBuffer(out) ? out.toString() : JSON.stringify(out);
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      expect(dechunk(body), `chunks of ${size}`).toBe(`{"k":"${VALUE}","x":"s1"}`);
      expect(text.endsWith("0\r\nX-Trailer: s1\r\n\r\n")).toBe(true);
      expect(guard.counters.substituted).toBe(3);
    }
  });

  it("keeps pipelined requests and bodies without placeholders intact", () => {
    const { guard } = testGuard(secrets);
    const two = request("plain body") + "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
    const out = feed(guard.open(flowTo("api.example.com")) ?? fail(), Buffer.from(two), 5);
    expect(forwarded(out).toString()).toBe(two.replaceAll("$MSB_API_KEY", VALUE));
  });

  it("a real HTTP server receives the value in a header and in the body", async () => {
    const seen: { auth: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ auth: req.headers.authorization, body });
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { guard } = testGuard(secrets);
      const session = guard.open(flowTo("api.example.com")) ?? fail();
      const out = feed(session, Buffer.from(request("token=$MSB_API_KEY&x=1") + "0".repeat(0)), 3);
      const reply = await roundTrip((server.address() as AddressInfo).port, out as Buffer);
      expect(reply).toMatch(/^HTTP\/1.1 200/);
      expect(seen).toEqual([{ auth: `Bearer ${VALUE}`, body: `token=${VALUE}&x=1` }]);
    } finally {
      server.close();
    }
  });

  it("blocks a placeholder sent to another host, with the secret's action, never logging the value", () => {
    const { guard, logs, terminations } = testGuard(secrets);
    const out = feed(guard.open(flowTo("evil.example.net")) ?? fail(), Buffer.from(request("$MSB_SHORT")), 1);
    expect(out).toMatchObject({ block: expect.stringMatching(/API_KEY.*evil\.example\.net/) as unknown });
    expect(guard.counters).toMatchObject({ violations: 1, substituted: 0 });
    expect(terminations).toEqual([]); // API_KEY (in the request line, first) only blocks
    const short = feed(
      guard.open(flowTo("evil.example.net")) ?? fail(),
      Buffer.from("GET /?$MSB_SHORT HTTP/1.1\r\n\r\n"),
      4,
    );
    expect(short).toHaveProperty("block");
    expect(terminations).toEqual(["secret violation: SHORT sent to evil.example.net"]);
    expect(logs.join("\n")).not.toContain(VALUE);
    expect(logs.join("\n")).not.toContain('s1"');
  });

  it("requireTls blocks over plain HTTP and unverified TLS; requireTls: false substitutes over plain HTTP", () => {
    const plain = flowTo("api.example.com", { tls: false, upstreamVerified: false, port: 80 });
    const { guard } = testGuard(secrets);
    expect(feed(guard.open(plain) ?? fail(), Buffer.from(request("")), 64)).toMatchObject({
      block: expect.stringMatching(/requires TLS/) as unknown,
    });
    expect(
      feed(
        guard.open(flowTo("api.example.com", { upstreamVerified: false })) ?? fail(),
        Buffer.from(request("")),
        64,
      ),
    ).toHaveProperty("block");
    const relaxed = testGuard([
      Secret.env("API_KEY", { value: VALUE, allowHosts: ["api.example.com"], requireTls: false }),
    ]);
    expect(
      forwarded(feed(relaxed.guard.open(plain) ?? fail(), Buffer.from(request("")), 64)).toString(),
    ).toContain(`Bearer ${VALUE}`);
  });

  it("streams a body over the buffer cap; a placeholder in it that changes its length blocks", () => {
    const big = "a".repeat(HTTP1_LIMITS.bufferedBody + 10);
    const { guard } = testGuard(secrets);
    const out = feed(guard.open(flowTo("api.example.com")) ?? fail(), Buffer.from(request(big)), 65536);
    expect(Buffer.isBuffer(out) && out.length).toBe(
      Buffer.byteLength(request(big).replaceAll("$MSB_API_KEY", VALUE)),
    );
    const blocked = feed(
      guard.open(flowTo("api.example.com")) ?? fail(),
      Buffer.from(request(`${big}$MSB_API_KEY`)),
      65536,
    );
    expect(blocked).toMatchObject({ block: expect.stringMatching(/cannot be substituted/) as unknown });
  });

  it("bounds the bodies held across all connections, and gives a closed connection's share back", () => {
    const { guard } = testGuard(secrets, 1000);
    const head = "POST / HTTP/1.1\r\nContent-Length: 600\r\n\r\n";
    const first = guard.open(flowTo("api.example.com")) ?? fail();
    expect(first.fromGuest(Buffer.from(head + "a".repeat(500)))).toEqual({ forward: [] });
    const second = guard.open(flowTo("api.example.com")) ?? fail();
    expect(second.fromGuest(Buffer.from(head + "b".repeat(600)))).toMatchObject({
      block: expect.stringMatching(/exceed 1000 bytes/) as unknown,
    });
    first.close();
    second.close();
    const third = guard.open(flowTo("api.example.com")) ?? fail();
    const done = third.fromGuest(Buffer.from(head + "c".repeat(600)));
    expect("forward" in done && Buffer.concat(done.forward).length).toBe(head.length + 600);
  });

  it("blocks malformed or oversized requests", () => {
    const cases = [
      "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "GET / HTTP/1.1\r\n folded\r\n\r\n",
      `GET / HTTP/1.1\r\nX: ${"a".repeat(HTTP1_LIMITS.head)}\r\n\r\n`,
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for (const text of cases) {
      const { guard } = testGuard(secrets);
      expect(
        feed(guard.open(flowTo("api.example.com")) ?? fail(), Buffer.from(text), 1000),
        text.slice(0, 60),
      ).toHaveProperty("block");
      expect(guard.counters.blocked).toBe(1);
    }
  });

  it("substitutes inside Basic credentials (curl -u user:$KEY) and blocks them toward other hosts", () => {
    const basic = (credentials: string): string => Buffer.from(credentials).toString("base64");
    const text = `GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${basic("user:$MSB_API_KEY")}\r\n\r\n`;
    const { guard } = testGuard(secrets);
    const out = forwarded(feed(guard.open(flowTo("api.example.com")) ?? fail(), Buffer.from(text), 7));
    expect(out.toString()).toContain(`Authorization: Basic ${basic(`user:${VALUE}`)}\r\n`);
    const other = testGuard(secrets);
    expect(feed(other.guard.open(flowTo("evil.example.net")) ?? fail(), Buffer.from(text), 7)).toHaveProperty(
      "block",
    );
    expect(other.guard.counters.violations).toBe(1);
  });

  it("scans other protocols as raw bytes", () => {
    const { guard } = testGuard(secrets);
    const out = feed(
      guard.open(flowTo("api.example.com")) ?? fail(),
      Buffer.from("\x00\x01AUTH $MSB_API_KEY\n"),
      2,
    );
    expect(forwarded(out).toString("latin1")).toBe(`\x00\x01AUTH ${VALUE}\n`);
  });
});

function fail(): never {
  throw new Error("no session");
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const line = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, line), 16);
    if (!Number.isInteger(size) || line < 0) throw new Error(`not chunked: ${rest.slice(0, 40)}`);
    if (size === 0) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

function roundTrip(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let reply = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
    socket.on("data", (c: Buffer) => {
      reply += c.toString();
      if (reply.includes("ok")) socket.end();
    });
    socket.on("close", () => {
      resolve(reply);
    });
    socket.on("error", reject);
  });
}
