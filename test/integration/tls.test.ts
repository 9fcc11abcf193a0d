/**
 * TLS interception through `Sandbox.create()` on real VMs (python image: curl, wget, python3): the guest talks to
 * the HTTPS test server of the public test host (test CA, HTTP/2 and HTTP/1.1) by name. Until the guest trusts
 * our CA by itself (the `guest` work), each test writes the CA into the guest and names it explicitly.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Sandbox } from "../../src/index.js";
import { installationCaPaths } from "../../src/net/tls/ca.js";
import { useTestHosts } from "../fixtures/netns/use-test-hosts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv({ python: true });
const fx = useTestHosts();

/** Bounded curl: at most 20 s per request. */
const CURL = "curl -sS --max-time 20";

async function withCa(sandbox: Sandbox): Promise<void> {
  const ca = readFileSync(installationCaPaths(env().home).cert, "utf8");
  await sandbox.fs().write("/tmp/msb-ca.pem", ca);
}

describe("TLS interception", () => {
  it("curl, wget and python urllib succeed through interception; HTTP/2 works; bypass, SNI denial and blockQuic", async () => {
    await using sandbox = await Sandbox.create({
      name: "tls-main",
      image: "python:3.12",
      network: {
        rules: [{ action: "deny", destination: "denied.test.example" }],
        tls: {
          upstreamCaCert: [fx().hosts.testCa.caPath],
          bypass: ["bypass.test.example"],
          blockQuic: true,
        },
      },
    });
    await withCa(sandbox);

    // curl over HTTP/1.1, with our CA only: the leaf is ours.
    const hello = await sandbox.shell(
      `${CURL} --http1.1 --cacert /tmp/msb-ca.pem https://api.test.example/hello`,
    );
    expect(hello.stderr()).toBe("");
    expect(hello.stdout()).toBe("hello from public over HTTPS\n");
    const issuer = await sandbox.shell(
      `${CURL} -v -o /dev/null --cacert /tmp/msb-ca.pem https://api.test.example/hello 2>&1 | grep -i 'issuer:'`,
    );
    expect(issuer.stdout()).toMatch(/microsandbox CA/);

    // HTTP/2 end to end: the guest negotiated h2 with us, and we with the server.
    const h2 = await sandbox.shell(
      `${CURL} --http2 --cacert /tmp/msb-ca.pem -w '\\n%{http_version}' -d 'body-h2' https://api.test.example/echo`,
    );
    const [json = "{}", version] = h2.stdout().split("\n");
    expect(version).toBe("2");
    const echoed = JSON.parse(json) as { alpn: string; body: string; servername: string };
    expect(echoed).toMatchObject({ alpn: "h2", body: "body-h2", servername: "api.test.example" });

    const wget = await sandbox.shell(
      "timeout 30 wget -q -O - --ca-certificate=/tmp/msb-ca.pem https://other.test.example/hello",
    );
    expect(wget.stdout()).toBe("hello from public over HTTPS\n");

    const python = await sandbox.exec("python3", [
      "-c",
      [
        "import ssl, urllib.request",
        "ctx = ssl.create_default_context(cafile='/tmp/msb-ca.pem')",
        "print(urllib.request.urlopen('https://api.test.example/hello', context=ctx, timeout=20).read().decode(), end='')",
      ].join("\n"),
    ]);
    expect(python.stderr()).toBe("");
    expect(python.stdout()).toBe("hello from public over HTTPS\n");

    // A bypassed name is spliced: the guest sees the server's own certificate (issued by the test CA).
    await sandbox.fs().write("/tmp/test-ca.pem", fx().hosts.testCa.caPem);
    const bypassed = await sandbox.shell(
      `${CURL} -v --cacert /tmp/test-ca.pem https://bypass.test.example/hello 2>&1 | grep -i -e 'issuer:' -e 'hello from'`,
    );
    expect(bypassed.stdout()).toMatch(new RegExp(fx().hosts.testCa.caName));
    expect(bypassed.stdout()).toMatch(/hello from public over HTTPS/);

    // A denied name is refused on its SNI alone (no DNS lookup of it: --resolve pins the address).
    const started = performance.now();
    const denied = await sandbox.shell(
      `${CURL} --cacert /tmp/msb-ca.pem --resolve denied.test.example:443:45.33.0.80 https://denied.test.example/hello`,
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stdout()).toBe("");
    expect(performance.now() - started).toBeLessThan(10_000);

    // blockQuic: UDP to 443 is refused with ICMP admin-prohibited (EHOSTUNREACH); another UDP port is not.
    const udp = (port: number) =>
      sandbox.exec("python3", [
        "-c",
        [
          "import socket",
          "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
          "s.settimeout(5)",
          `s.connect(('45.33.0.80', ${port}))`,
          "s.send(b'quic?')",
          "try:",
          "    s.recv(100)",
          "    print('answered')",
          "except OSError as e:",
          "    print(e.errno)",
        ].join("\n"),
      ]);
    expect((await udp(443)).stdout().trim()).toBe("113");
    expect((await udp(4433)).stdout().trim()).not.toBe("113");
  });

  it("refuses a server whose certificate does not verify, unless verifyUpstream is false", async () => {
    {
      await using strict = await Sandbox.create({
        name: "tls-strict",
        image: "python:3.12",
        network: { tls: {} },
      });
      await withCa(strict);
      const refused = await strict.shell(`${CURL} --cacert /tmp/msb-ca.pem https://api.test.example/hello`);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout()).toBe("");
    }
    await using lax = await Sandbox.create({
      name: "tls-lax",
      image: "python:3.12",
      network: { tls: { verifyUpstream: false } },
    });
    await withCa(lax);
    const accepted = await lax.shell(`${CURL} --cacert /tmp/msb-ca.pem https://api.test.example/hello`);
    expect(accepted.stdout()).toBe("hello from public over HTTPS\n");
  });
});
