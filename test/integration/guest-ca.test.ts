/**
 * The guest trusts the sandbox's TLS interception CA without the user doing anything: given its own CA
 * (`network.tls.caCert`/`caKey`), the certificate is at /.msb/tls/ca.pem, ends the system bundle (whose own certificates
 * stay), the TLS variables are set for exec and the main process (the user's own win), a restart does not
 * append it twice, the image's shared base disk is unchanged, and an image without a bundle gets one. A TLS
 * server inside the guest with a leaf the CA signed proves curl and Python really trust it. No network
 * traffic leaves the guest.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { Patch } from "../../src/storage/patch.js";
import type { SandboxConfig } from "../../src/sdk/config.js";
import { sandboxPaths } from "../../src/sdk/context.js";
import { type TestCa, createTestCa } from "../fixtures/test-ca.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv({ python: true });

const BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const BEGIN = "# BEGIN microsandbox TLS interception CA";

const made: TestCa[] = [];
afterAll(() => {
  for (const ca of made) ca.close();
});

/** A CA (`subject`) and a leaf it signed for localhost and 127.0.0.1 (the guest's own TLS server). */
function makeTestCa(subject?: string): TestCa {
  const ca = createTestCa({
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    ...(subject ? { subject } : {}),
  });
  made.push(ca);
  return ca;
}

/**
 * Boots `config` with `ca` as its interception CA (`network.tls.caCert`/`caKey`, files kept per sandbox):
 * create, or start again when `start` (the files are rewritten first, so a restart may bring a new CA).
 */
async function boot(config: SandboxConfig, ca: TestCa, start = false): Promise<Sandbox> {
  const dir = join(env().home, `ca-${config.name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ca.pem"), ca.caPem);
  writeFileSync(join(dir, "ca.key"), ca.caKeyPem, { mode: 0o600 });
  if (start) return Sandbox.start(config.name);
  return Sandbox.create({
    ...config,
    network: { ...config.network, tls: { caCert: join(dir, "ca.pem"), caKey: join(dir, "ca.key") } },
  });
}

async function sh(box: Sandbox, script: string): Promise<string> {
  const out = await box.shell(script);
  if (out.code !== 0) throw new Error(`${script}: exit ${out.code}: ${out.stderr()}`);
  return out.stdout();
}

/**
 * The image's base disk under a sandbox's overlay: the end of qemu-img's backing chain (a sandbox restored from a
 * VM template has the template's disk in between).
 */
function baseDiskOf(name: string): string {
  const info = execFileSync(
    "qemu-img",
    ["info", "-U", "--backing-chain", "--output=json", sandboxPaths(env().home, name).rootDisk],
    { encoding: "utf8" },
  );
  const chain = JSON.parse(info) as { filename: string; format: string }[];
  const base = chain.at(-1);
  if (chain.length < 2 || base === undefined) throw new Error(`${name}'s disk has no backing file`);
  if (base.format !== "raw")
    throw new Error(`${name}'s chain ends in a ${base.format} disk, not the raw base`);
  return base.filename;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A file of an ext4 image, read with debugfs (no mount). */
function ext4File(disk: string, path: string): string {
  return execFileSync("debugfs", ["-R", `cat ${path}`, disk], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
}

/** A bundle without the marked block (which is always last). */
const withoutBlock = (text: string) => text.slice(0, text.indexOf(BEGIN));

/** The install times the supervisor logged (`guest trusts the TLS CA`), in its log. */
function installMs(name: string): number[] {
  const log = readFileSync(join(sandboxPaths(env().home, name).logDir, "supervisor.log"), "utf8");
  return log
    .split("\n")
    .filter((line) => line.includes("guest trusts the TLS CA"))
    .map((line) => (JSON.parse(line) as { fields: { ms: number } }).fields.ms);
}

const certCount = (text: string) => text.split("-----BEGIN CERTIFICATE-----").length - 1;

const TLS_SERVER = [
  "import http.server, ssl",
  "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)",
  "ctx.load_cert_chain('/srv/leaf.pem', '/srv/leaf.key')",
  "srv = http.server.HTTPServer(('127.0.0.1', 8443), http.server.SimpleHTTPRequestHandler)",
  "srv.socket = ctx.wrap_socket(srv.socket, server_side=True)",
  "srv.serve_forever()",
].join("\n");

/** curl's exit code for https://localhost:8443/ (waits, bounded, while the server starts: 7 is "refused"). */
const CURL = (args: string) =>
  `for i in $(seq 100); do curl -sS -o /dev/null ${args} https://localhost:8443/index.html; rc=$?; ` +
  `[ $rc -ne 7 ] && exit $rc; sleep 0.2; done; exit 7`;

describe("guest trust in the TLS interception CA", () => {
  it("installs the CA, sets the variables, survives a restart, leaves the base alone (python image)", async () => {
    const ca = makeTestCa();
    const config: SandboxConfig = {
      name: "ca-python",
      image: "python:3.12",
      env: { CURL_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt", MSB_MARK: "1" },
      cmd: ["sh", "-c", "env > /tmp/main.env; exec sleep 100000"],
    };
    const box = await boot(config, ca);
    const base = baseDiskOf(config.name);
    const baseHash = await sha256(base);
    const original = ext4File(base, BUNDLE);
    expect(certCount(original)).toBeGreaterThan(50);
    expect(original).not.toContain(BEGIN);
    try {
      expect(await box.fs().readString("/.msb/tls/ca.pem")).toBe(ca.caPem);
      const bundle = await box.fs().readString(BUNDLE);
      // The image's certificates, byte for byte, then the marked block ending with the CA.
      expect(bundle.startsWith(original)).toBe(true);
      expect(bundle.slice(original.length)).toMatch(/^# BEGIN microsandbox TLS interception CA[^\n]*\n/);
      expect(
        bundle
          .trimEnd()
          .replace(/\n# END microsandbox TLS interception CA$/, "")
          .endsWith(ca.caPem.trimEnd()),
      ).toBe(true);
      expect(certCount(bundle)).toBe(certCount(original) + 1);
      // Every exec gets the variables; the user's own value (CURL_CA_BUNDLE from the config) wins.
      expect(
        await sh(
          box,
          "echo $SSL_CERT_FILE; echo $REQUESTS_CA_BUNDLE; echo $NODE_EXTRA_CA_CERTS; echo $CURL_CA_BUNDLE",
        ),
      ).toBe(`${BUNDLE}\n${BUNDLE}\n/.msb/tls/ca.pem\n${BUNDLE}\n`);
      const own = await box.execWithConfig({
        cmd: "sh",
        args: ["-c", "echo $SSL_CERT_FILE"],
        env: { SSL_CERT_FILE: "/x.pem" },
      });
      expect(own.stdout()).toBe("/x.pem\n");
      // And the main process.
      const mainEnv = await sh(
        box,
        "for i in $(seq 50); do [ -s /tmp/main.env ] && break; sleep 0.2; done; cat /tmp/main.env",
      );
      expect(mainEnv).toContain(`SSL_CERT_FILE=${BUNDLE}\n`);
      expect(mainEnv).toContain("NODE_EXTRA_CA_CERTS=/.msb/tls/ca.pem\n");
      expect(mainEnv).toContain("MSB_MARK=1\n");

      // Real trust: a TLS server in the guest with a leaf the CA signed.
      await box.fs().write("/srv/leaf.pem", ca.certPem);
      await box.fs().write("/srv/leaf.key", ca.keyPem);
      await box.fs().write("/srv/index.html", "trusted\n");
      await box.fs().write("/srv/tls.py", TLS_SERVER);
      await sh(box, "cd /srv && python3 /srv/tls.py > /tmp/tls.log 2>&1 &");
      // curl through the system bundle alone (no variable), and through the variables.
      expect((await box.shell(`env -u SSL_CERT_FILE -u CURL_CA_BUNDLE sh -c '${CURL("")}'`)).code).toBe(0);
      expect((await box.shell(CURL(""))).code).toBe(0);
      // The control: a bundle without the CA is refused (60: the peer's certificate cannot be verified).
      await box.fs().write("/srv/other.pem", makeTestCa("another CA").caPem);
      const other = await box.shell(CURL("--cacert /srv/other.pem"));
      expect(other.code).toBe(60);
      // Python's default context (OpenSSL's default paths, and SSL_CERT_FILE).
      const py = await box.exec("python3", [
        "-c",
        "import urllib.request; print(urllib.request.urlopen('https://localhost:8443/index.html', timeout=10).read().decode(), end='')",
      ]);
      expect(py.stdout()).toBe("trusted\n");

      // The distribution's own builder keeps the CA when the guest rebuilds its bundle (a package upgrade does).
      expect(await box.fs().readString("/usr/local/share/ca-certificates/microsandbox-ca.crt")).toBe(
        ca.caPem,
      );
      await sh(box, "update-ca-certificates > /dev/null 2>&1");
      const rebuilt = await box.fs().readString(BUNDLE);
      expect(rebuilt).not.toContain(BEGIN);
      expect(rebuilt).toContain(ca.caPem);
      expect((await box.shell(`env -u SSL_CERT_FILE -u CURL_CA_BUNDLE sh -c '${CURL("")}'`)).code).toBe(0);
      process.stderr.write(`[msb] CA installed in ${installMs(config.name).join(", ")} ms\n`);

      // A restart: the block is replaced, never appended twice; a changed CA replaces the old one.
      await box.stopAndWait();
      const again = await boot(config, ca, true);
      const restarted = await again.fs().readString(BUNDLE);
      expect(restarted.startsWith(rebuilt)).toBe(true);
      expect(restarted.split(BEGIN)).toHaveLength(2);
      await again.stopAndWait();
      const third0 = await boot(config, ca, true);
      expect(await third0.fs().readString(BUNDLE)).toBe(restarted);
      await third0.stopAndWait();
      const next = makeTestCa("microsandbox test CA 2");
      const third = await boot(config, next, true);
      const replaced = await third.fs().readString(BUNDLE);
      expect(replaced.startsWith(withoutBlock(restarted))).toBe(true);
      expect(replaced.slice(withoutBlock(restarted).length)).toContain(next.caPem);
      expect(replaced.slice(withoutBlock(restarted).length)).not.toContain(ca.caPem);
      expect(replaced.split(BEGIN)).toHaveLength(2);
      expect(await third.fs().readString("/usr/local/share/ca-certificates/microsandbox-ca.crt")).toBe(
        next.caPem,
      );
      expect(await third.fs().readString("/.msb/tls/ca.pem")).toBe(next.caPem);
      await third.stopAndWait();

      // The shared base is untouched.
      expect(await sha256(base)).toBe(baseHash);
      expect(ext4File(base, BUNDLE)).toBe(original);
      expect(ext4File(base, "/.msb/tls/ca.pem")).toBe("");
    } finally {
      await (await Sandbox.get(config.name)).kill();
    }
  }, 480_000);

  it("gives an image without a bundle one (busybox)", async () => {
    const ca = makeTestCa();
    const config: SandboxConfig = { name: "ca-busybox", image: "alpine:latest" };
    const box = await boot(config, ca);
    try {
      expect(await sh(box, "ls /etc/ssl/certs")).toBe("ca-certificates.crt\n");
      const bundle = await box.fs().readString(BUNDLE);
      expect(certCount(bundle)).toBe(1);
      expect(bundle).toContain(ca.caPem);
      expect(await box.fs().readString("/.msb/tls/ca.pem")).toBe(ca.caPem);
      expect(await sh(box, "echo $SSL_CERT_FILE $NODE_EXTRA_CA_CERTS")).toBe(`${BUNDLE} /.msb/tls/ca.pem\n`);
      await box.stopAndWait();
      const again = await boot(config, ca, true);
      expect(await again.fs().readString(BUNDLE)).toBe(bundle);
      await again.stopAndWait();
    } finally {
      await (await Sandbox.get(config.name)).kill();
    }
  }, 240_000);

  it("writes a bundle reached through a symlink once, and keeps the link (Alpine's /etc/ssl/cert.pem)", async () => {
    const ca = makeTestCa();
    const own = makeTestCa("the image's own root").caPem;
    const config: SandboxConfig = {
      name: "ca-link",
      image: "alpine:latest",
      patches: [Patch.text(BUNDLE, own), Patch.symlink("certs/ca-certificates.crt", "/etc/ssl/cert.pem")],
    };
    const box = await boot(config, ca);
    const bundle = await box.fs().readString(BUNDLE);
    expect(bundle.startsWith(own)).toBe(true);
    expect(bundle.split(BEGIN)).toHaveLength(2);
    expect(certCount(bundle)).toBe(2);
    expect(await sh(box, "readlink /etc/ssl/cert.pem")).toBe("certs/ca-certificates.crt\n");
    expect(await sh(box, "echo $SSL_CERT_FILE")).toBe(`${BUNDLE}\n`);
    await box.stopAndWait();
  }, 240_000);
});
