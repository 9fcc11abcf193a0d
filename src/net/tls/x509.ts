/**
 * The one place @peculiar/x509 is set up: it needs `reflect-metadata` loaded first and a WebCrypto provider
 * (Node's). Import certificate generation from here, never from the library directly.
 *
 * @packageDocumentation
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/** ECDSA P-256 with SHA-256: the key and signature algorithm of every certificate we make. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A fresh ECDSA P-256 key pair (extractable, for export as PEM). */
export async function generateP256(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
}

/** PKCS#8 PEM of a WebCrypto private key. */
export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** A random positive 16-byte serial number (hex). */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 1;
  return Buffer.from(bytes).toString("hex");
}
