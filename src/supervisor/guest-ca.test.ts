import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { GUEST_CA_PATH, caBlock, guestCaEnv, normalizeCaPem, withCaBlock } from "./guest-ca.js";

const cert = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;
const CA = `${cert("QUJD")}\n`;
const OTHER = `${cert("REVG")}\n`;
const SYSTEM = `# ACME Root\n${cert("R1")}\n${cert("R2")}\n`;

describe("withCaBlock", () => {
  it("appends the marked block after the bundle's certificates", () => {
    const out = withCaBlock(SYSTEM, CA);
    expect(out.startsWith(SYSTEM)).toBe(true);
    expect(out.endsWith(`${CA}# END microsandbox TLS interception CA\n`)).toBe(true);
    expect(out).toBe(SYSTEM + caBlock(CA));
  });

  it("is idempotent and replaces an older CA instead of adding a second block", () => {
    const once = withCaBlock(SYSTEM, CA);
    expect(withCaBlock(once, CA)).toBe(once);
    const replaced = withCaBlock(once, OTHER);
    expect(replaced).toBe(SYSTEM + caBlock(OTHER));
    expect(replaced).not.toContain("QUJD");
  });

  it("keeps certificates added after the block, and removes every stale block", () => {
    const added = `${withCaBlock(SYSTEM, OTHER)}${cert("USER")}\n${caBlock(OTHER)}`;
    const out = withCaBlock(added, CA);
    expect(out).toBe(`${SYSTEM}${cert("USER")}\n${caBlock(CA)}`);
  });

  it("adds a newline to a bundle without a final one, and makes a bundle from nothing", () => {
    expect(withCaBlock(cert("R1"), CA)).toBe(`${cert("R1")}\n${caBlock(CA)}`);
    expect(withCaBlock("", CA)).toBe(caBlock(CA));
  });

  it("leaves a begin marker without its end in place (removes nothing of the image's)", () => {
    const broken = `${SYSTEM}# BEGIN microsandbox TLS interception CA (managed: replaced at every boot)\n${cert("R3")}\n`;
    expect(withCaBlock(broken, CA)).toBe(broken + caBlock(CA));
  });
});

describe("normalizeCaPem", () => {
  it("accepts certificates with CRLF and surrounding whitespace", () => {
    expect(normalizeCaPem(`\n${cert("QUJD").replace(/\n/g, "\r\n")}\r\n\n`)).toBe(CA);
    expect(normalizeCaPem(`${cert("QUJD")}\n${cert("REVG")}`)).toBe(`${cert("QUJD")}\n${cert("REVG")}\n`);
  });

  it("refuses keys, junk, nothing and oversized input", () => {
    for (const bad of [
      "",
      "hello",
      `${CA}junk`,
      "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
      `${CA}-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n`,
      cert("A".repeat(70_000)),
    ]) {
      expect(() => normalizeCaPem(bad)).toThrow(InvalidConfigError);
    }
  });
});

describe("guestCaEnv", () => {
  it("names the whole bundle for OpenSSL, curl and requests, and the CA alone for Node", () => {
    expect(guestCaEnv("/etc/ssl/certs/ca-certificates.crt")).toEqual({
      SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
      REQUESTS_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt",
      CURL_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt",
      NODE_EXTRA_CA_CERTS: GUEST_CA_PATH,
    });
  });
});
