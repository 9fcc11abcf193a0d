import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readEnv } from "../../config/env.js";
import { InvalidConfigError } from "../../errors.js";
import { tempDirs } from "../../os/temp-dirs.fixture.js";
import { parseReference } from "../reference.js";
import { authKeyRegistry, dockerConfigCredentials } from "./credentials.js";
import { endpointsFor } from "./endpoints.js";
import { isLoopbackHost, loadRegistrySettings, validateSettings, type RegistrySettings } from "./settings.js";

const settingsHome = tempDirs("msb-settings-");
const dockerDir = tempDirs("msb-docker-");

const base: RegistrySettings = {
  mirrors: [],
  mirrorsOnly: false,
  insecure: [],
  ca: {},
  dockerConfigFile: "/nonexistent",
};

describe("registry settings", () => {
  it("merges MSB_REGISTRY_MIRRORS (first) with the config file's registry-mirrors", async () => {
    const home = settingsHome();
    writeFileSync(join(home, "ca.pem"), "PEM");
    writeFileSync(
      join(home, "config.json"),
      JSON.stringify({
        "registry-mirrors": ["https://m2.example/", "http://127.0.0.1:5000"],
        "insecure-registries": ["10.0.0.5:5000"],
        "registry-ca": { "reg.internal": join(home, "ca.pem") },
      }),
    );
    const env = readEnv({
      MSB_HOME: home,
      MSB_REGISTRY_MIRRORS: "https://m1.example, http://127.0.0.1:5000",
    });
    const settings = await loadRegistrySettings(env);
    expect(settings.mirrors).toEqual(["https://m1.example", "http://127.0.0.1:5000", "https://m2.example"]);
    expect(settings.insecure).toEqual(["10.0.0.5:5000"]);
    expect(settings.ca).toEqual({ "reg.internal": "PEM" });
  });

  it("defaults without a config file, and rejects plain-HTTP mirrors on non-loopback hosts", async () => {
    const home = settingsHome();
    expect((await loadRegistrySettings(readEnv({ MSB_HOME: home }))).mirrors).toEqual([]);
    expect(() => validateSettings({ ...base, mirrors: ["http://mirror.example"] })).toThrow(
      InvalidConfigError,
    );
    expect(
      validateSettings({ ...base, mirrors: ["http://10.0.0.5:5000"], insecure: ["10.0.0.5:5000"] }).mirrors,
    ).toEqual(["http://10.0.0.5:5000"]);
    expect(() => validateSettings({ ...base, mirrors: ["ftp://x"] })).toThrow(InvalidConfigError);
  });

  it("knows loopback hosts", () => {
    for (const host of ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000"])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ["example.com", "10.0.0.1:5000", "localhost.example", "[::2]"])
      expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("endpointsFor", () => {
  const settings = validateSettings({
    ...base,
    mirrors: ["http://127.0.0.1:5000"],
    insecure: ["reg.lan:80"],
    ca: { "tls.lan": "PEM" },
  });
  it("puts mirrors before Docker Hub, for Docker Hub images only", () => {
    expect(endpointsFor(parseReference("python:3.12"), settings).map((e) => [e.baseUrl, e.mirror])).toEqual([
      ["http://127.0.0.1:5000", true],
      ["https://registry-1.docker.io", false],
    ]);
    expect(endpointsFor(parseReference("ghcr.io/a/b"), settings).map((e) => e.baseUrl)).toEqual([
      "https://ghcr.io",
    ]);
  });
  it("never names Docker Hub itself when mirrors-only is set", () => {
    const only = validateSettings({ ...settings, mirrorsOnly: true });
    expect(endpointsFor(parseReference("python:3.12"), only).map((e) => e.baseUrl)).toEqual([
      "http://127.0.0.1:5000",
    ]);
  });
  it("uses plain HTTP only for loopback and insecure registries, HTTPS with a CA otherwise", () => {
    expect(endpointsFor(parseReference("localhost:5000/x"), settings)[0]?.baseUrl).toBe(
      "http://localhost:5000",
    );
    expect(endpointsFor(parseReference("reg.lan:80/x"), settings)[0]?.baseUrl).toBe("http://reg.lan:80");
    expect(endpointsFor(parseReference("tls.lan/x"), settings)[0]).toEqual({
      baseUrl: "https://tls.lan",
      host: "tls.lan",
      mirror: false,
      ca: "PEM",
    });
  });
});

describe("docker config credentials", () => {
  it("reads auth (base64) and username/password entries, Docker Hub under its legacy key", async () => {
    const dir = dockerDir();
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: Buffer.from("hub:p:w").toString("base64") },
          "127.0.0.1:5001": { username: "u", password: "p" },
          "https://ghcr.io": {},
        },
      }),
    );
    expect(await dockerConfigCredentials(file, "docker.io")).toEqual({ username: "hub", password: "p:w" });
    expect(await dockerConfigCredentials(file, "127.0.0.1:5001")).toEqual({ username: "u", password: "p" });
    expect(await dockerConfigCredentials(file, "ghcr.io")).toBeUndefined();
    expect(await dockerConfigCredentials(join(dir, "missing.json"), "ghcr.io")).toBeUndefined();
    expect(authKeyRegistry("registry-1.docker.io")).toBe("docker.io");
  });
});
