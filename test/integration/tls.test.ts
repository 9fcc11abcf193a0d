/**
 * TLS interception through `Sandbox.create()` on real VMs (python image: curl, wget, python3): the guest talks to
 * the HTTPS test server of the public test host (test CA, HTTP/2 and HTTP/1.1) by name. The guest trusts our CA
 * by itself (nothing in the tests names it): curl, wget and Python use the system bundle and the variables the
 * sandbox sets.
 */
import { describe, expect, it } from "vitest";
import { Sandbox } from "../../src/index.js";
import { useTestHosts } from "../fixtures/netns/use-test-hosts.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv({ python: true });
const fx = useTestHosts();

/** Bounded curl: at most 20 s per request. */
const CURL = "curl -sS --max-time 20";

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

    // curl over HTTP/1.1: the leaf is ours, and the guest trusts it without being told.
    const hello = await sandbox.shell(`${CURL} --http1.1 https://api.test.example/hello`);
    expect(hello.stderr()).toBe("");
    expect(hello.stdout()).toBe("hello from public over HTTPS\n");
    const issuer = await sandbox.shell(
      `${CURL} -v -o /dev/null https://api.test.example/hello 2>&1 | grep -i 'issuer:'`,
    );
    expect(issuer.stdout()).toMatch(/microsandbox CA/);

    // HTTP/2 end to end: the guest negotiated h2 with us, and we with the server.
    const h2 = await sandbox.shell(
      `${CURL} --http2 -w '\\n%{http_version}' -d 'body-h2' https://api.test.example/echo`,
    );
    const [json = "{}", version] = h2.stdout().split("\n");
    expect(version).toBe("2");
    const echoed = JSON.parse(json) as { alpn: string; body: string; servername: string };
    expect(echoed).toMatchObject({ alpn: "h2", body: "body-h2", servername: "api.test.example" });

    const wget = await sandbox.shell("timeout 30 wget -q -O - https://other.test.example/hello");
    expect(wget.stdout()).toBe("hello from public over HTTPS\n");

    const python = await sandbox.exec("python3", [
      "-c",
      [
        "import urllib.request",
        "print(urllib.request.urlopen('https://api.test.example/hello', timeout=20).read().decode(), end='')",
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
      `${CURL} --resolve denied.test.example:443:45.33.0.80 https://denied.test.example/hello`,
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
      const refused = await strict.shell(`${CURL} https://api.test.example/hello`);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout()).toBe("");
    }
    await using lax = await Sandbox.create({
      name: "tls-lax",
      image: "python:3.12",
      network: { tls: { verifyUpstream: false } },
    });
    const accepted = await lax.shell(`${CURL} https://api.test.example/hello`);
    expect(accepted.stdout()).toBe("hello from public over HTTPS\n");
  });
});
