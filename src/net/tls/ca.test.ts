import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { TLSSocket, connect } from "node:tls";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { installationCa, installationCaPaths, readCaCertificates, userCa } from "./ca.js";
import { LeafMinter } from "./leaf-minter.js";

const tempDir = tempDirs("msb-ca-test-", { after: "each" });

/** A TLS handshake on loopback: our minter serves, a client trusting only `caPem` verifies `servername`. */
async function handshake(minter: LeafMinter, servername: string, caPem: string) {
  const server = createServer((raw) => {
    const tls = new TLSSocket(raw, {
      isServer: true,
      SNICallback: (name, done) => {
        minter.context(name).then((ctx) => {
          done(null, ctx);
        }, done);
      },
    });
    tls.on("error", () => undefined);
    tls.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise<{ authorized: boolean; issuer: string; subjectAltName: string }>(
      (resolve, reject) => {
        const client = connect({ host: "127.0.0.1", port, servername, ca: caPem, rejectUnauthorized: false });
        client.on("secureConnect", () => {
          const cert = client.getPeerCertificate();
          resolve({
            authorized: client.authorized,
            issuer: String(cert.issuer.CN),
            subjectAltName: cert.subjectaltname ?? "",
          });
          client.destroy();
        });
        client.on("error", reject);
      },
    );
  } finally {
    server.close();
  }
}

describe("installation CA", () => {
  it("is made once, 0600, and two concurrent makers agree", async () => {
    const home = tempDir();
    const [a, b] = await Promise.all([installationCa(home), installationCa(home)]);
    expect(a).toEqual(b);
    const paths = installationCaPaths(home);
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.cert, "utf8")).toBe(a.certPem);
    const cert = new X509Certificate(a.certPem);
    expect(cert.ca).toBe(true);
    expect(await installationCa(home)).toEqual(a);
  });

  it("signs leaves a client trusting only the CA verifies, for names and addresses, cached", async () => {
    const ca = await installationCa(tempDir());
    const minter = await LeafMinter.create(ca, { maxEntries: 2 });
    const first = await handshake(minter, "api.example.com", ca.certPem);
    expect(first).toMatchObject({ authorized: true, subjectAltName: "DNS:api.example.com" });
    expect(first.issuer).toMatch(/^microsandbox CA/);
    await handshake(minter, "api.example.com", ca.certPem);
    expect(minter.stats).toEqual({ minted: 1, hits: 1 });
    const wrong = await handshake(minter, "other.example.com", (await installationCa(tempDir())).certPem);
    expect(wrong.authorized).toBe(false);
    await minter.context("10.1.2.3");
    expect(minter.size).toBe(2);
    expect(minter.stats.minted).toBe(3);
    // LRU bound: api.example.com was the least recently used.
    await minter.context("api.example.com");
    expect(minter.stats.minted).toBe(4);
  });
});

describe("user CA", () => {
  function opensslCa(dir: string, ext: string): { cert: string; key: string } {
    const cert = join(dir, "user-ca.pem");
    const key = join(dir, "user-ca.key");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert].concat([
        "-days",
        "2",
        "-subj",
        "/CN=user CA",
        "-addext",
        ext,
      ]),
      { stdio: "ignore" },
    );
    return { cert, key };
  }

  it("signs with the user's RSA CA", async () => {
    const dir = tempDir();
    const paths = opensslCa(dir, "basicConstraints=critical,CA:TRUE");
    const ca = userCa(paths.cert, paths.key);
    const minter = await LeafMinter.create(ca);
    const result = await handshake(minter, "rsa.example.com", ca.certPem);
    expect(result).toMatchObject({ authorized: true, issuer: "user CA" });
  });

  it("rejects a non-CA certificate, a key that does not match, and unreadable files, naming the field", async () => {
    const dir = tempDir();
    const leaf = opensslCa(dir, "basicConstraints=critical,CA:FALSE");
    const expectField = (run: () => unknown, field: string, message: RegExp) => {
      let error: unknown;
      try {
        run();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    };
    expectField(() => userCa(leaf.cert, leaf.key), "network.tls.caCert", /not a CA certificate/);
    const other = await installationCa(tempDir());
    const otherKey = join(dir, "other.key");
    writeFileSync(otherKey, other.keyPem);
    const caDir = tempDir();
    const ca = opensslCa(caDir, "basicConstraints=critical,CA:TRUE");
    expectField(() => userCa(ca.cert, otherKey), "network.tls.caKey", /not the key of/);
    expectField(() => userCa(join(dir, "missing.pem"), ca.key), "network.tls.caCert", /cannot read/);
    expectField(() => userCa(ca.key, ca.key), "network.tls.caCert", /not a PEM certificate/);
    expectField(
      () => readCaCertificates([ca.cert, ca.key], "network.tls.upstreamCaCert"),
      "network.tls.upstreamCaCert[1]",
      /not a PEM certificate/,
    );
  });
});
