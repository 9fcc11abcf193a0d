/**
 * The CA leaf certificates are signed with: one generated per installation (`$MSB_HOME/tls/ca.pem` and
 * `ca.key`, mode 0600, made on first use; two processes racing to make it end up with the same one), or the
 * user's own (`network.tls.caCert` / `caKey` PEM paths, checked: a CA certificate and its matching key).
 *
 * @packageDocumentation
 */
import { X509Certificate, createPrivateKey, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { failConfig } from "../../config/invalid.js";

/** A CA as PEM text: the certificate the guest trusts, the key that signs leaves. */
export interface CaMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Where the per-installation CA lives. */
export function installationCaPaths(home: string): { dir: string; cert: string; key: string } {
  const dir = join(home, "tls");
  return { dir, cert: join(dir, "ca.pem"), key: join(dir, "ca.key") };
}

/**
 * The per-installation CA, generated on first use. The pair is written into a private temporary directory
 * that is then renamed to `$MSB_HOME/tls` in one step, so a reader sees both files or neither, and of two
 * processes making it at once one rename wins and both use its pair.
 */
export async function installationCa(home: string): Promise<CaMaterial> {
  const paths = installationCaPaths(home);
  const existing = readPair(paths.cert, paths.key);
  if (existing !== undefined) return existing;
  const made = await generateCa();
  const staging = join(home, `.tls-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    writeFileSync(join(staging, "ca.pem"), made.certPem, { mode: 0o644 });
    writeFileSync(join(staging, "ca.key"), made.keyPem, { mode: 0o600 });
    try {
      renameSync(staging, paths.dir);
    } catch (err) {
      // Another process won (ENOTEMPTY/EEXIST): use its pair.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const winner = readPair(paths.cert, paths.key);
  if (winner === undefined) {
    throw new Error(`${paths.dir} exists but holds no ca.pem and ca.key; remove it to have a CA made again`);
  }
  chmodSync(paths.key, 0o600);
  return winner;
}

/** The user's CA from `network.tls.caCert` / `caKey`: must be a CA certificate and the key that matches it. */
export function userCa(certPath: string, keyPath: string, field = "network.tls"): CaMaterial {
  const certPem = readText(`${field}.caCert`, certPath);
  const keyPem = readText(`${field}.caKey`, keyPath);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    failConfig(`${field}.caCert`, `${certPath} is not a PEM certificate: ${(err as Error).message}`);
  }
  if (!cert.ca)
    failConfig(`${field}.caCert`, `${certPath} is not a CA certificate (basicConstraints CA:FALSE)`);
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    failConfig(`${field}.caKey`, `${keyPath} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!matches) failConfig(`${field}.caKey`, `${keyPath} is not the key of ${certPath}`);
  return { certPem, keyPem };
}

/** PEM certificates from `paths` (upstream CAs), each checked; errors name `field[i]`. */
export function readCaCertificates(paths: readonly string[], field: string): string[] {
  return paths.map((path, i) => {
    const pem = readText(`${field}[${i}]`, path);
    try {
      new X509Certificate(pem);
    } catch (err) {
      failConfig(`${field}[${i}]`, `${path} is not a PEM certificate: ${(err as Error).message}`);
    }
    return pem;
  });
}

/**
 * A fresh ECDSA P-256 CA, valid from a day ago for ten years. The X.509 library is loaded here, on first use: it
 * is most of what importing the SDK would cost (~100 ms), and only a sandbox that intercepts TLS needs it.
 */
export async function generateCa(): Promise<CaMaterial> {
  const { ECDSA_P256, generateP256, privateKeyPem, randomSerial, x509 } = await import("./x509.js");
  const keys = await generateP256();
  const now = Date.now();
  const name = `CN=microsandbox CA (${hostname().replace(/[,+="\\<>;#]/g, "_")}), O=microsandbox`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

function readPair(certPath: string, keyPath: string): CaMaterial | undefined {
  try {
    return { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8") };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function readText(field: string, path: string): string {
  try {
    const text = readFileSync(path, "utf8");
    if (text.length > 1024 * 1024) failConfig(field, `${path} is larger than 1 MiB`);
    return text;
  } catch (err) {
    if (err instanceof Error && "field" in err) throw err;
    failConfig(field, `cannot read ${path}: ${(err as Error).message}`);
  }
}
