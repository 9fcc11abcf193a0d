/**
 * The guest's trust in the sandbox's TLS interception CA, the pure part: where the certificate and the system
 * bundles live in the guest, the marked block appended to a bundle (replaced, never appended twice), and the
 * environment that points TLS clients at them. The guest side is done by `guest-ca-install.ts`.
 */
import { InvalidConfigError } from "../errors.js";

/** Where the CA certificate is written in the guest, alone (PEM). */
export const GUEST_CA_PATH = "/.msb/tls/ca.pem";

/**
 * The usual system bundles, in order of preference (the list Go's crypto/x509 searches): Debian, Ubuntu,
 * Alpine and Arch; Fedora and RHEL; openSUSE; OpenELEC; CentOS and RHEL 7; Alpine's and LibreSSL's cert.pem.
 * Each that exists gets the CA; the first that exists is the one the environment names.
 */
export const SYSTEM_BUNDLES: readonly string[] = Object.freeze([
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
]);

/** The bundle created when the image has none (busybox, distroless...). */
export const CREATED_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** A bundle larger than this is left alone (it is the guest's file: its size is not ours to trust). */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** A CA certificate larger than this is refused (a real one is ~1 KiB; a chain of a few, a few KiB). */
export const MAX_CA_PEM_BYTES = 64 * 1024;

const BEGIN = "# BEGIN microsandbox TLS interception CA (managed: replaced at every boot)";
const END = "# END microsandbox TLS interception CA";

const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/**
 * Checks `pem` holds one or more PEM certificates and nothing but whitespace around them; returns them joined
 * by newlines with a final newline. Throws {@link InvalidConfigError} (field `tls.caCertPem`).
 */
export function normalizeCaPem(pem: string): string {
  if (Buffer.byteLength(pem) > MAX_CA_PEM_BYTES)
    throw new InvalidConfigError("tls.caCertPem", `is larger than ${MAX_CA_PEM_BYTES} bytes`);
  const certs = pem.match(PEM_CERT) ?? [];
  const rest = pem.replace(PEM_CERT, "").trim();
  if (certs.length === 0 || rest !== "")
    throw new InvalidConfigError("tls.caCertPem", "must be PEM certificates (-----BEGIN CERTIFICATE-----)");
  return `${certs.map((c) => c.replace(/\r\n/g, "\n")).join("\n")}\n`;
}

/** The marked block for `caPem` (normalized). */
export function caBlock(caPem: string): string {
  return `${BEGIN}\n${caPem}${END}\n`;
}

/**
 * `bundle` with every earlier marked block removed and the block for `caPem` (normalized) appended at its end.
 * Text outside the markers is kept byte for byte; a begin marker without its end is left as it is (the block
 * is appended after it, so nothing of the image's is ever removed).
 */
export function withCaBlock(bundle: string, caPem: string): string {
  let kept = "";
  let rest = bundle;
  for (;;) {
    const begin = rest.indexOf(`${BEGIN}\n`);
    const end = begin < 0 ? -1 : rest.indexOf(`${END}\n`, begin);
    if (begin < 0 || end < 0) break;
    kept += rest.slice(0, begin);
    rest = rest.slice(end + END.length + 1);
  }
  kept += rest;
  const separator = kept === "" || kept.endsWith("\n") ? "" : "\n";
  return `${kept}${separator}${caBlock(caPem)}`;
}

/**
 * The environment of every exec and of the main process when the CA is installed (the user's own values
 * win: they are merged under them). OpenSSL, curl and Python's requests replace their trust store with the
 * named file, so they get the whole system bundle (which now ends with the CA); Node adds the CA alone to
 * its built-in roots.
 */
export function guestCaEnv(bundle: string): Readonly<Record<string, string>> {
  return Object.freeze({
    SSL_CERT_FILE: bundle,
    REQUESTS_CA_BUNDLE: bundle,
    CURL_CA_BUNDLE: bundle,
    NODE_EXTRA_CA_CERTS: GUEST_CA_PATH,
  });
}
