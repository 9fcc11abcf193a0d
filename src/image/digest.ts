/** Content digests (`sha256:<64 hex>`, `sha512:<128 hex>`): parsing and incremental verification. */
import { createHash, type Hash } from "node:crypto";
import { ImageDigestError } from "../errors.js";

/** Digest algorithms we can verify. */
export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** True when `value` is a digest we can verify: a known algorithm and lowercase hex of the right length. */
export function isDigest(value: string): boolean {
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  if (algorithm !== "sha256" && algorithm !== "sha512") return false;
  const hex = value.slice(colon + 1);
  return hex.length === HEX_LENGTH[algorithm] && /^[0-9a-f]+$/.test(hex);
}

/** Returns `value` if it is a verifiable digest, else throws {@link ImageDigestError} naming `what`. */
export function parseDigest(value: unknown, what: string): string {
  if (typeof value !== "string" || !isDigest(value)) {
    throw new ImageDigestError(`${what} has an invalid or unsupported digest ${JSON.stringify(value)}`, {
      expected: String(value),
    });
  }
  return value;
}

/** The hex part of a digest (the file name under the content-addressed stores). */
export function digestHex(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** Computes a digest incrementally; {@link DigestHasher.digest} may be read once all bytes were fed. */
export class DigestHasher {
  readonly #algorithm: DigestAlgorithm;
  readonly #hash: Hash;

  constructor(algorithm: DigestAlgorithm) {
    this.#algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** A hasher for the algorithm of `expected`. */
  static for(expected: string): DigestHasher {
    return new DigestHasher(expected.startsWith("sha512:") ? "sha512" : "sha256");
  }

  /** Feeds bytes. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** The digest of everything fed so far, as `algorithm:hex`. Ends the hasher. */
  digest(): string {
    return `${this.#algorithm}:${this.#hash.digest("hex")}`;
  }
}

/** Digest of a whole buffer, with the algorithm of `like` (default sha256). */
export function digestOf(bytes: Uint8Array, like = "sha256:"): string {
  const hasher = DigestHasher.for(like);
  hasher.update(bytes);
  return hasher.digest();
}

/** Throws {@link ImageDigestError} unless `bytes` hash to `expected`. */
export function verifyBytes(bytes: Uint8Array, expected: string, what: string): void {
  const actual = digestOf(bytes, expected);
  if (actual !== expected) {
    throw new ImageDigestError(`${what} does not match its digest: expected ${expected}, got ${actual}`, {
      expected,
      actual,
    });
  }
}
