/**
 * Secrets through TLS interception on a real VM (python image): the HTTPS test server of the public test host
 * (test CA, which the supervisor is told to trust; HTTP/2 and HTTP/1.1) receives the value in a header and in
 * the body over HTTP/1.1 and HTTP/2, also when the guest writes one byte per TLS record; the placeholder sent to
 * another name of the same server is blocked. The guest trusts our CA by itself (system bundle).
 *
 * The server echoes what it received, so this sandbox's guest does see the value in responses: the leak checks
 * are in `secrets.test.ts`, whose server answers with digests.
 */
import { describe, expect, it } from "vitest";
import { Sandbox, Secret } from "../../src/index.js";
import { useTestHosts } from "../fixtures/netns/use-test-hosts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";
import { bytewiseClient } from "../fixtures/bytewise-client.js";

useSandboxEnv({ python: true });
const fx = useTestHosts();

const VALUE = "msbtest-tls-value-5e4d3c2b1a09-LONGER-than-the-placeholder";
const CURL = "curl -sS --max-time 20";

interface Echo {
  readonly alpn: string;
  readonly httpVersion: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly path: string;
}

describe("secrets over TLS interception", () => {
  it("substitute in headers and bodies over HTTP/1.1 and HTTP/2, one byte per record too; other names blocked", async () => {
    await using sandbox = await Sandbox.create({
      name: "secrets-tls",
      image: "python:3.12",
      network: { tls: { upstreamCaCert: [fx().hosts.testCa.caPath] } },
      secrets: [Secret.env("API_KEY", { value: VALUE, allowHosts: ["api.test.example"] })],
    });
    for (const version of ["--http1.1", "--http2"]) {
      const out = await sandbox.shell(
        `${CURL} ${version} -H "Authorization: Bearer $API_KEY" --data-binary "k=$API_KEY" "https://api.test.example/echo?q=$API_KEY"`,
      );
      expect(out.stderr()).toBe("");
      const echo = JSON.parse(out.stdout()) as Echo;
      expect(echo.alpn).toBe(version === "--http2" ? "h2" : "http/1.1");
      expect(echo.headers["authorization"]).toBe(`Bearer ${VALUE}`);
      expect(echo.body).toBe(`k=${VALUE}`);
      expect(echo.path).toBe(`/echo?q=${VALUE}`);
    }

    const body = `{"k":"$MSB_API_KEY"}`;
    const request =
      "POST /echo HTTP/1.1\r\nHost: api.test.example\r\nX-Key: $MSB_API_KEY\r\nConnection: close\r\n" +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    await sandbox
      .fs()
      .write(
        "/tmp/bytewise.py",
        Buffer.from(bytewiseClient({ host: "api.test.example", port: 443, tls: true }, request)),
      );
    const slow = await sandbox.shell("python3 /tmp/bytewise.py");
    expect(slow.stderr()).toBe("");
    const slowEcho = JSON.parse(slow.stdout().slice(slow.stdout().indexOf("{"))) as Echo;
    expect(slowEcho.headers["x-key"]).toBe(VALUE);
    expect(slowEcho.body).toBe(`{"k":"${VALUE}"}`);

    // The same server under another name: the placeholder is not allowed there.
    const other = await sandbox.shell(`${CURL} --http2 -H "X-Key: $API_KEY" https://other.test.example/echo`);
    expect(other.code).not.toBe(0);
    expect(other.stdout()).toBe("");
    // Without the placeholder that name works.
    const plain = await sandbox.shell(`${CURL} https://other.test.example/hello`);
    expect(plain.stdout()).toBe("hello from public over HTTPS\n");
  }, 600_000);
});
