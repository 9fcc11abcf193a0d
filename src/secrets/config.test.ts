import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StoreError } from "../errors.js";
import { fieldOf } from "../config/field-of.fixture.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { persistableConfig, validateSandboxConfig } from "../sdk/config.js";
import { execDefaults } from "../sdk/defaults.js";
import { hostAllowed, refusalFor } from "./allow.js";
import { Secret, validateSecrets } from "./config.js";
import { installKey, openSealedSecrets, sealSecrets, secretKeyPath } from "./sealed-store.js";

const VALUE = "sk-live-0123456789abcdef";
const ok = { value: VALUE, allowHosts: ["api.example.com"] };
const image = { env: ["PATH=/bin"], workingDir: "", user: "", cmd: undefined, entrypoint: undefined };

describe("secrets config", () => {
  it("resolves defaults: placeholder $MSB_<VAR>, requireTls true, onViolation block", () => {
    expect(validateSecrets([Secret.env("OPENAI_API_KEY", ok)], undefined)).toEqual([
      {
        envVar: "OPENAI_API_KEY",
        value: VALUE,
        allowHosts: ["api.example.com"],
        allowHostPatterns: [],
        placeholder: "$MSB_OPENAI_API_KEY",
        requireTls: true,
        onViolation: "block",
      },
    ]);
  });

  it.each([
    [{ secrets: {} }, "secrets"],
    [{ secrets: ["x"] }, "secrets[0]"],
    [{ secrets: [{ ...ok, envVar: "1BAD" }] }, "secrets[0].envVar"],
    [{ secrets: [Secret.env("K", { ...ok, value: "" })] }, "secrets[0].value"],
    [{ secrets: [Secret.env("K", { ...ok, value: "a\r\nX-Evil: 1" })] }, "secrets[0].value"],
    [{ secrets: [Secret.env("K", { ...ok, placeholder: "has space" })] }, "secrets[0].placeholder"],
    [{ secrets: [Secret.env("K", { ...ok, placeholder: "$x" })] }, "secrets[0].placeholder"],
    [{ secrets: [Secret.env("K", { ...ok, placeholder: `$MSB_${VALUE}` })] }, "secrets[0].placeholder"],
    [{ secrets: [Secret.env("K", { value: VALUE })] }, "secrets[0].allowHosts"],
    [{ secrets: [Secret.env("K", { value: VALUE, allowHosts: "a.com" as never })] }, "secrets[0].allowHosts"],
    [{ secrets: [Secret.env("K", { value: VALUE, allowHosts: ["*.a.com"] })] }, "secrets[0].allowHosts[0]"],
    [{ secrets: [Secret.env("K", { value: VALUE, allowHosts: ["a b"] })] }, "secrets[0].allowHosts[0]"],
    [
      { secrets: [Secret.env("K", { value: VALUE, allowHostPatterns: ["a.com"] })] },
      "secrets[0].allowHostPatterns[0]",
    ],
    [
      { secrets: [Secret.env("K", { value: VALUE, allowHostPatterns: ["*.com"] })] },
      "secrets[0].allowHostPatterns[0]",
    ],
    [{ secrets: [Secret.env("K", { ...ok, requireTls: "yes" as never })] }, "secrets[0].requireTls"],
    [{ secrets: [Secret.env("K", { ...ok, onViolation: "ignore" as never })] }, "secrets[0].onViolation"],
    [{ secrets: [{ ...Secret.env("K", ok), extra: 1 }] }, "secrets[0].extra"],
    [
      { secrets: [Secret.env("K", ok), Secret.env("K", { ...ok, value: "other-value" })] },
      "secrets[1].envVar",
    ],
    [
      {
        secrets: [
          Secret.env("A", { ...ok, placeholder: "$SAME_1" }),
          Secret.env("B", { ...ok, value: "v2-value", placeholder: "$SAME_1" }),
        ],
      },
      "secrets[1].placeholder",
    ],
    [{ env: { K: "x" }, secrets: [Secret.env("K", ok)] }, "secrets[0].envVar"],
    [{ env: { OTHER: `Bearer ${VALUE}` }, secrets: [Secret.env("K", ok)] }, "env.OTHER"],
  ])("rejects %j naming %s", (fields, field) => {
    expect(fieldOf(() => validateSandboxConfig({ name: "a", image: "x", ...fields }))).toBe(field);
  });

  it("keeps overlapping default placeholders apart (KEY and KEY_2 are both fine)", () => {
    const secrets = validateSecrets(
      [Secret.env("KEY", ok), Secret.env("KEY_2", { ...ok, value: "second-value" })],
      {},
    );
    expect(secrets.map((s) => s.placeholder)).toEqual(["$MSB_KEY", "$MSB_KEY_2"]);
  });

  it("persists every field but the value, and the guest env gets the placeholder", () => {
    const config = validateSandboxConfig({
      name: "a",
      image: "x",
      env: { A: "1" },
      secrets: [
        Secret.env("OPENAI_API_KEY", {
          ...ok,
          allowHostPatterns: ["*.Example.org"],
          onViolation: "block-and-log",
        }),
      ],
      registryAuth: { username: "u", password: "hunter2" },
    });
    const stored = persistableConfig(config);
    expect(stored).not.toContain(VALUE);
    expect(stored).not.toContain("hunter2");
    const parsed = JSON.parse(stored) as { secrets: unknown[] };
    expect(parsed.secrets).toEqual([
      {
        envVar: "OPENAI_API_KEY",
        allowHosts: ["api.example.com"],
        allowHostPatterns: ["*.example.org"],
        placeholder: "$MSB_OPENAI_API_KEY",
        requireTls: true,
        onViolation: "block-and-log",
      },
    ]);
    for (const c of [config, parsed as never]) {
      const env = execDefaults(c, image as never).env;
      expect(env).toMatchObject({ A: "1", OPENAI_API_KEY: "$MSB_OPENAI_API_KEY" });
      expect(JSON.stringify(env)).not.toContain(VALUE);
    }
  });
});

describe("allowed hosts", () => {
  const secret = {
    allowHosts: ["api.example.com", "45.33.0.80"],
    allowHostPatterns: ["*.example.org"],
    requireTls: true,
  };
  it("matches exact names any case, patterns one or more labels deep, not the apex", () => {
    expect(hostAllowed(secret, "API.example.com.")).toBe(true);
    expect(hostAllowed(secret, "a.example.org")).toBe(true);
    expect(hostAllowed(secret, "a.b.example.org")).toBe(true);
    expect(hostAllowed(secret, "example.org")).toBe(false);
    expect(hostAllowed(secret, "evil-example.org")).toBe(false);
    expect(hostAllowed(secret, "api.example.com.evil.net")).toBe(false);
    expect(hostAllowed(secret, "45.33.0.80")).toBe(true);
  });
  it("requires TLS with a verified upstream when requireTls", () => {
    const flow = { host: "api.example.com", tls: true, upstreamVerified: true };
    expect(refusalFor(secret, flow)).toBeUndefined();
    expect(refusalFor(secret, { ...flow, upstreamVerified: false })).toMatch(/verified/);
    expect(refusalFor(secret, { ...flow, tls: false, upstreamVerified: false })).toMatch(/plain/);
    expect(
      refusalFor({ ...secret, requireTls: false }, { ...flow, tls: false, upstreamVerified: false }),
    ).toBeUndefined();
    expect(refusalFor(secret, { ...flow, host: "other.com" })).toMatch(/not an allowed host/);
  });
});

describe("sealed secret store", () => {
  const makeHome = tempDirs("msb-seal-", { after: "each" });

  it("seals with a 0600 per-install key into a 0600 file that only opens for its sandbox", () => {
    const home = makeHome();
    const file = join(home, "secrets.sealed");
    sealSecrets(home, file, "sandbox:abc", { OPENAI_API_KEY: VALUE });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(secretKeyPath(home)).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "keys")).mode & 0o777).toBe(0o700);
    expect(readFileSync(file).includes(Buffer.from(VALUE))).toBe(false);
    expect(openSealedSecrets(home, file, "sandbox:abc")).toEqual({ OPENAI_API_KEY: VALUE });
    expect(installKey(home)).toEqual(installKey(home)); // one key, made once
    expect(() => openSealedSecrets(home, file, "sandbox:other")).toThrow(StoreError);
    const tampered = readFileSync(file);
    tampered.writeUInt8((tampered.at(-1) ?? 0) ^ 1, tampered.length - 1);
    writeFileSync(file, tampered);
    expect(() => openSealedSecrets(home, file, "sandbox:abc")).toThrow(/do not open/);
    expect(() => openSealedSecrets(home, join(home, "missing"), "sandbox:abc")).toThrow(StoreError);
  });
});
