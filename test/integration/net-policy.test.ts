/**
 * The default policy (`public-only`) on a real VM, with DNS block lists, a domain rule and a published port:
 * the public test host is reachable by name, private/loopback/metadata destinations are refused at once, the
 * resolver blocks and filters, bulk and parallel transfers arrive intact.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { blobSha256 } from "../fixtures/netns/blob.js";
import { useNetVm } from "../fixtures/netns/use-net-vm.js";

const sh = (script: string, timeoutMs = 60_000) => ({ argv: ["sh", "-c", script], timeoutMs });
const PUBLISHED = 18_080;

describe("public-only network", () => {
  const fx = useNetVm("net-policy", (dns) => ({
    dnsServers: [dns],
    network: {
      rules: [{ action: "deny", destination: "denied.test" }],
      blockDomains: ["blocked.test"],
      blockDomainSuffixes: [".evil.test"],
    },
    ports: { [String(PUBLISHED)]: 80 },
  }));
  const exec = (script: string, timeoutMs?: number) => fx().netVm.vm.exec(sh(script, timeoutMs));

  it("configures the guest link and resolver", async () => {
    const out = await exec("ip -4 addr show eth0; ip route; cat /etc/resolv.conf");
    expect(out.stdout.toString()).toMatch(/inet 10\.0\.2\.15\/24/);
    expect(out.stdout.toString()).toMatch(/default via 10\.0\.2\.2/);
    expect(out.stdout.toString()).toMatch(/nameserver 10\.0\.2\.3/);
    expect((await exec("ping -c 1 -W 2 10.0.2.2")).code).toBe(0);
  });

  it("reaches the public test host by name", async () => {
    const out = await exec("timeout 30 wget -q -O - http://pub.test/hello");
    expect(out.stdout.toString()).toBe("hello from public\n");
  });

  it.each([
    ["the private host", "10.211.5.80"],
    ["the host's loopback through the gateway", "10.0.2.2"],
    ["the metadata address", "169.254.169.254"],
  ])("refuses %s at once", async (_what, address) => {
    const started = performance.now();
    const out = await exec(`timeout 30 wget -q -O - http://${address}/hello`);
    expect(out.code).not.toBe(0);
    expect(out.stderr.toString()).toMatch(/Connection refused/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("drops DNS answers that point a public name at a private or loopback address", async () => {
    for (const name of ["priv.test", "loop.test"]) {
      const out = await exec(`nslookup ${name}`);
      expect(out.stdout.toString()).not.toMatch(/10\.211\.5\.80|127\.0\.0\.1/);
    }
    expect(fx().netVm.net.metrics().dnsRebindDropped).toBeGreaterThan(0);
  });

  it("answers NXDOMAIN for blocked names and suffixes without asking upstream", async () => {
    for (const name of ["blocked.test", "www.evil.test", "evil.test"]) {
      const out = await exec(`nslookup ${name}`);
      expect(out.code).not.toBe(0);
      expect(out.stdout.toString() + out.stderr.toString()).toMatch(/NXDOMAIN/);
    }
    expect(fx().dns.queries).not.toContain("blocked.test");
    expect(fx().dns.queries).not.toContain("www.evil.test");
  });

  it("answers DNS over TCP, to any address", async () => {
    const query = Buffer.from("0000010000010000000000000370756204746573740000010001", "hex");
    const framed = Buffer.concat([Buffer.from([0, query.length]), query]).toString("hex");
    const out = await exec(
      `printf '${framed.replace(/(..)/g, "\\x$1")}' | nc -w 5 192.0.2.53 53 | od -An -tx1`,
    );
    // The answer carries 45.33.0.80 (2d 21 00 50).
    expect(out.stdout.toString().replace(/\s+/g, " ")).toMatch(/2d 21 00 50/);
  });

  it("downloads 100 MB intact", async () => {
    const size = 100 * 1024 * 1024;
    const out = await exec(
      `timeout 30 wget -q -O - 'http://45.33.0.80/blob?size=${size}' | sha256sum`,
      110_000,
    );
    expect(out.stdout.toString().split(" ")[0]).toBe(blobSha256(size));
  }, 120_000);

  it("uploads 8 MB intact (guest to host)", async () => {
    const size = 8 * 1024 * 1024;
    const request = `printf 'POST /sink HTTP/1.0\\r\\nContent-Length: ${size}\\r\\n\\r\\n'`;
    const out = await exec(
      `head -c ${size} /dev/urandom > /tmp/up && sha256sum /tmp/up && { ${request}; cat /tmp/up; } | timeout 60 nc 45.33.0.80 80 | tail -1`,
      110_000,
    );
    const [local, answer] = out.stdout.toString().trim().split("\n");
    expect(answer).toBe(`${size} ${local?.split(" ")[0] ?? "?"}`);
  }, 120_000);

  it("runs 50 parallel connections", async () => {
    const script =
      "for i in $(seq 50); do (timeout 30 wget -q -O /tmp/p$i http://45.33.0.80/hello) & done; wait; cat /tmp/p* | grep -c 'hello from public'";
    expect((await exec(script)).stdout.toString().trim()).toBe("50");
  });

  it("publishes guest TCP port 80 on the host", async () => {
    await exec(
      "mkdir -p /tmp/www && echo published > /tmp/www/index.html && httpd -p 80 -h /tmp/www && until netstat -ltn | grep -q ':80 '; do sleep 0.1; done",
      10_000,
    );
    const body = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: PUBLISHED });
      let data = "";
      socket.setTimeout(10_000, () => socket.destroy(new Error("published port timed out")));
      socket.on("connect", () => socket.end("GET / HTTP/1.0\r\n\r\n"));
      socket.on("data", (chunk: Buffer) => (data += chunk.toString()));
      socket.on("end", () => {
        resolve(data);
      });
      socket.on("error", reject);
    });
    expect(body).toMatch(/^HTTP\/1\.[01] 200/);
    expect(body).toMatch(/published/);
  });

  it("allows one name and denies another at the same address by a domain rule", async () => {
    // Last: once denied.test is resolved, the deny rule covers 45.33.0.80 until the answer expires.
    expect((await exec("timeout 30 wget -q -O - http://allowed.test/hello")).stdout.toString()).toBe(
      "hello from public\n",
    );
    const denied = await exec("timeout 30 wget -q -O - http://denied.test/hello");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr.toString()).toMatch(/Connection refused/);
  });

  it("counts traffic", () => {
    const m = fx().netVm.net.metrics();
    expect(m.bytesIn).toBeGreaterThan(100 * 1024 * 1024);
    expect(m.packetsOut).toBeGreaterThan(0);
    expect(m.denied).toBeGreaterThan(0);
  });
});
