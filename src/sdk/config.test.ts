import { describe, expect, it } from "vitest";
import { fieldOf } from "../config/field-of.fixture.js";
import { InvalidConfigError } from "../errors.js";
import { MIN_MEMORY_MIB, persistableConfig, validateSandboxConfig } from "./config.js";
import { execDefaults, mainProcess } from "./defaults.js";
import { toExecRequest } from "./exec-config.js";

const image = {
  env: ["PATH=/bin", "LANG=C"],
  workingDir: "",
  user: "",
  cmd: ["python3"],
  entrypoint: undefined,
};
const imageConfig = image as unknown as Parameters<typeof execDefaults>[1];

describe("validateSandboxConfig", () => {
  it("accepts the seed's fields", () => {
    const config = { name: "a.b-c_1", image: "python:3.12", cpus: 2, memoryMib: 256, replace: true };
    expect(validateSandboxConfig(config)).toBe(config);
  });

  it.each([
    [{ image: "x" }, "name"],
    [{ name: "", image: "x" }, "name"],
    [{ name: "a/b", image: "x" }, "name"],
    [{ name: "-a", image: "x" }, "name"],
    [{ name: "a".repeat(64), image: "x" }, "name"],
    [{ name: "a" }, "image"],
    [{ name: "a", image: "x", cpus: -1 }, "cpus"],
    [{ name: "a", image: "x", cpus: 1.5 }, "cpus"],
    [{ name: "a", image: "x", memoryMib: 1 }, "memoryMib"],
    [{ name: "a", image: "x", pullPolicy: "sometimes" }, "pullPolicy"],
    [{ name: "a", image: "x", env: { A: 1 } }, "env.A"],
    [{ name: "a", image: "x", workdir: "relative" }, "workdir"],
    [{ name: "a", image: "x", hostname: "bad_host" }, "hostname"],
    [{ name: "a", image: "x", cmd: "not-an-array" }, "cmd"],
    [{ name: "a", image: "x", registryAuth: { username: "u" } }, "registryAuth"],
    [{ name: "a", image: "x", ports: { "8080": 0 } }, "ports.8080"],
    [{ name: "a", image: "x", network: { policy: "sometimes" } }, "network.policy"],
    [{ name: "a", image: "x", network: { tls: { verifyUpstream: "yes" } } }, "network.tls.verifyUpstream"],
    [{ name: "a", image: "x", stopSignal: "SIGNOPE" }, "stopSignal"],
    [{ name: "a", image: "x", stopSignal: 99 }, "stopSignal"],
    [{ name: "a", image: "x", maxDurationSecs: 0 }, "maxDurationSecs"],
    [{ name: "a", image: "x", maxDurationSecs: "5" }, "maxDurationSecs"],
    [{ name: "a", image: "x", memoryMB: 5 }, "memoryMB"],
    [{ name: "a", image: "x", logLevel: "loud" }, "logLevel"],
    [{ name: "a", image: "x", logLevel: "INFO" }, "logLevel"],
    [{ name: "a", image: "x", quietLogs: "yes" }, "quietLogs"],
  ])("rejects %j naming %s", (config, field) => {
    expect(fieldOf(() => validateSandboxConfig(config))).toBe(field);
  });

  it("accepts every log level and quietLogs", () => {
    for (const logLevel of ["trace", "debug", "info", "warn", "error"]) {
      expect(() => validateSandboxConfig({ name: "a", image: "x", logLevel, quietLogs: true })).not.toThrow();
    }
  });

  it("refuses memory below the measured minimum, naming the field and the minimum", () => {
    expect(MIN_MEMORY_MIB).toBe(96);
    const config = { name: "a", image: "x", memoryMib: 64 };
    expect(() => validateSandboxConfig(config)).toThrow(InvalidConfigError);
    expect(() => validateSandboxConfig(config)).toThrow(/memoryMib: must be at least 96 MiB/);
    expect(fieldOf(() => validateSandboxConfig(config))).toBe("memoryMib");
    expect(validateSandboxConfig({ ...config, memoryMib: MIN_MEMORY_MIB })).toBeTruthy();
  });

  it("never persists the registry password", () => {
    const json = persistableConfig({
      name: "a",
      image: "x",
      registryAuth: { username: "u", password: "s3cret" },
    });
    expect(json).not.toContain("s3cret");
    expect(JSON.parse(json)).toMatchObject({ registryAuth: { username: "u" } });
  });
});

describe("exec defaults", () => {
  it("applies the image's Env under the config's, and '/' as the default cwd", () => {
    const d = execDefaults({ name: "a", image: "x", env: { LANG: "C.UTF-8" } }, imageConfig);
    expect(d).toEqual({
      env: { PATH: "/bin", LANG: "C.UTF-8" },
      cwd: "/",
      user: undefined,
      shell: "/bin/sh",
    });
    const req = toExecRequest({ cmd: "ls", env: { X: "1" }, cwd: "/tmp" }, d);
    expect(req).toMatchObject({ argv: ["ls"], cwd: "/tmp", env: { PATH: "/bin", LANG: "C.UTF-8", X: "1" } });
  });

  it("rejects bad exec options, naming them", () => {
    const d = execDefaults({ name: "a", image: "x" }, imageConfig);
    expect(fieldOf(() => toExecRequest({ cmd: "" }, d))).toBe("cmd");
    expect(fieldOf(() => toExecRequest({ cmd: "x", tty: { rows: 0, cols: 80 } }, d))).toBe("tty");
    expect(fieldOf(() => toExecRequest({ cmd: "x", stdin: 5 as unknown as string }, d))).toBe("stdin");
    expect(fieldOf(() => toExecRequest({ cmd: "x", timeoutMs: -5 }, d))).toBe("timeoutMs");
  });

  it("builds the main process Docker's way", () => {
    expect(mainProcess({ name: "a", image: "x" }, imageConfig)).toBeUndefined();
    expect(mainProcess({ name: "a", image: "x", cmd: ["-V"] }, imageConfig)).toEqual(["-V"]);
    const withEntrypoint = {
      ...image,
      entrypoint: ["python3"],
      cmd: ["-i"],
    } as unknown as typeof imageConfig;
    expect(mainProcess({ name: "a", image: "x", cmd: ["-V"] }, withEntrypoint)).toEqual(["python3", "-V"]);
    expect(mainProcess({ name: "a", image: "x", entrypoint: ["sh"] }, withEntrypoint)).toEqual(["sh"]);
  });
});
