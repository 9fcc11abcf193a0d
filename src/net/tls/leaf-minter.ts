/**
 * Leaf certificates for intercepted connections: one per server name (or address, when the guest sent no SNI),
 * ECDSA P-256, signed by the CA, served from a bounded LRU cache of ready `SecureContext`s. All leaves of one
 * minter share one key pair (generated once): minting a name costs one signature.
 *
 * @packageDocumentation
 */
import { createPrivateKey, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { type SecureContext, createSecureContext } from "node:tls";
import type { CaMaterial } from "./ca.js";
import { generateP256, privateKeyPem, randomSerial, x509 } from "./x509.js";

/** Default {@link LeafMinterOptions.maxEntries} (the original's cache size). */
export const DEFAULT_LEAF_CACHE = 1000;

/** Options of {@link LeafMinter.create}. */
export interface LeafMinterOptions {
  /** Names whose contexts are kept (least recently used evicted first). */
  readonly maxEntries?: number;
}

/** Counters of a {@link LeafMinter}. */
export interface LeafMinterStats {
  /** Certificates signed. */
  minted: number;
  /** Contexts served from the cache. */
  hits: number;
}

const DAY = 24 * 3600_000;

/** Mints and caches leaf certificates signed by one CA. */
export class LeafMinter {
  readonly stats: LeafMinterStats = { minted: 0, hits: 0 };
  readonly #ca: x509.X509Certificate;
  readonly #caPem: string;
  readonly #signingKey: webcrypto.CryptoKey;
  readonly #signingAlgorithm: { name: string; hash: string };
  readonly #leafKeys: webcrypto.CryptoKeyPair;
  readonly #leafKeyPem: string;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, Promise<SecureContext>>();

  private constructor(init: {
    ca: x509.X509Certificate;
    caPem: string;
    signingKey: webcrypto.CryptoKey;
    signingAlgorithm: { name: string; hash: string };
    leafKeys: webcrypto.CryptoKeyPair;
    leafKeyPem: string;
    maxEntries: number;
  }) {
    this.#ca = init.ca;
    this.#caPem = init.caPem;
    this.#signingKey = init.signingKey;
    this.#signingAlgorithm = init.signingAlgorithm;
    this.#leafKeys = init.leafKeys;
    this.#leafKeyPem = init.leafKeyPem;
    this.#maxEntries = init.maxEntries;
  }

  /** Imports the CA's key (EC P-256/P-384 or RSA) and makes the leaves' key pair. */
  static async create(ca: CaMaterial, options: LeafMinterOptions = {}): Promise<LeafMinter> {
    const keyObject = createPrivateKey(ca.keyPem);
    const der = keyObject.export({ type: "pkcs8", format: "der" });
    let importAlgorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
    let signingAlgorithm: { name: string; hash: string };
    if (keyObject.asymmetricKeyType === "ec") {
      const curve = keyObject.asymmetricKeyDetails?.namedCurve;
      const namedCurve = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : undefined;
      if (namedCurve === undefined) throw new Error(`unsupported CA key curve ${String(curve)}`);
      importAlgorithm = { name: "ECDSA", namedCurve };
      signingAlgorithm = { name: "ECDSA", hash: namedCurve === "P-384" ? "SHA-384" : "SHA-256" };
    } else if (keyObject.asymmetricKeyType === "rsa") {
      importAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
      signingAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    } else {
      throw new Error(`unsupported CA key type ${String(keyObject.asymmetricKeyType)}`);
    }
    const signingKey = await webcrypto.subtle.importKey("pkcs8", der, importAlgorithm, false, ["sign"]);
    const leafKeys = await generateP256();
    return new LeafMinter({
      ca: new x509.X509Certificate(ca.certPem),
      caPem: ca.certPem,
      signingKey,
      signingAlgorithm,
      leafKeys,
      leafKeyPem: await privateKeyPem(leafKeys.privateKey),
      maxEntries: Math.max(1, options.maxEntries ?? DEFAULT_LEAF_CACHE),
    });
  }

  /** The CA certificate (PEM) the leaves chain to. */
  get caPem(): string {
    return this.#caPem;
  }

  /** Contexts held. */
  get size(): number {
    return this.#cache.size;
  }

  /** The server context for `name` (a normalised DNS name or an IP address), minted on first use. */
  context(name: string): Promise<SecureContext> {
    const cached = this.#cache.get(name);
    if (cached !== undefined) {
      this.stats.hits++;
      this.#cache.delete(name);
      this.#cache.set(name, cached);
      return cached;
    }
    const made = this.#mint(name).then((certPem) =>
      createSecureContext({ key: this.#leafKeyPem, cert: certPem, minVersion: "TLSv1.2" }),
    );
    this.#cache.set(name, made);
    made.catch(() => {
      if (this.#cache.get(name) === made) this.#cache.delete(name);
    });
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    return made;
  }

  /** Signs a certificate for `name` (PEM). */
  async #mint(name: string): Promise<string> {
    const now = Date.now();
    const notBefore = Math.max(now - 2 * DAY, this.#ca.notBefore.getTime());
    const notAfter = Math.min(now + 90 * DAY, this.#ca.notAfter.getTime());
    const san =
      isIP(name) === 0 ? { type: "dns" as const, value: name } : { type: "ip" as const, value: name };
    const caKeyId = this.#ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([san]),
      await x509.SubjectKeyIdentifierExtension.create(this.#leafKeys.publicKey),
    ];
    if (caKeyId !== undefined) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: [{ CN: [name.slice(0, 64)] }],
      issuer: this.#ca.subjectName,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey: this.#leafKeys.publicKey,
      signingKey: this.#signingKey,
      signingAlgorithm: this.#signingAlgorithm,
      extensions,
    });
    this.stats.minted++;
    return cert.toString("pem");
  }
}
