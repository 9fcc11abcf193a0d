import { describe, expect, it } from "vitest";
import { fieldOf } from "../config/field-of.fixture.js";
import { validateSandboxConfig } from "./config.js";
import type { ExecDefaults } from "./defaults.js";
import { Stdin, toExecRequest } from "./exec-config.js";
import { MAX_ARG_BYTES } from "./exec-limits.js";

const defaults: ExecDefaults = { env: { A: "1" }, cwd: "/", user: undefined, shell: "/bin/sh" };

const request = (config: Record<string, unknown>) => toExecRequest({ cmd: "x", ...config }, defaults);

describe("ExecConfig", () => {
  it("rejects unknown keys instead of ignoring them", () => {
    expect(fieldOf(() => request({ maxOutput: 5 }))).toBe("maxOutput");
    expect(fieldOf(() => request({ timeout: 5 }))).toBe("timeout");
  });

  it("offers maxOutputBytes, the limit the output-limit hint names", () => {
    expect(request({ maxOutputBytes: 1024 }).maxOutputBytes).toBe(1024);
    expect(fieldOf(() => request({ maxOutputBytes: 0 }))).toBe("maxOutputBytes");
  });

  it("accepts every stdin form without ambiguity", () => {
    expect(request({}).stdin).toBeUndefined();
    expect(request({ stdin: "null" }).stdin).toBeUndefined();
    expect(request({ stdin: "pipe" }).stdin).toBe("pipe");
    expect(request({ stdin: "hello" }).stdin).toEqual(Buffer.from("hello"));
    expect(request({ stdin: Buffer.from([0, 255]) }).stdin).toEqual(Buffer.from([0, 255]));
    expect(request({ stdin: new Uint8Array([1, 2]) }).stdin).toEqual(Buffer.from([1, 2]));
    expect(request({ stdin: Stdin.bytes("pipe") }).stdin).toEqual(Buffer.from("pipe"));
    expect(request({ stdin: Stdin.pipe() }).stdin).toBe("pipe");
    expect(request({ stdin: Stdin.null() }).stdin).toBeUndefined();
    expect(fieldOf(() => request({ stdin: { kind: "file" } }))).toBe("stdin");
  });

  it("takes tty as a boolean or a size", () => {
    expect(request({ tty: true }).tty).toEqual({ rows: 24, cols: 80 });
    expect(request({ tty: false }).tty).toBeUndefined();
    expect(request({ tty: { rows: 50, cols: 200 } }).tty).toEqual({ rows: 50, cols: 200 });
    expect(fieldOf(() => request({ tty: { rows: 5, cols: 5, color: true } }))).toBe("tty.color");
    expect(fieldOf(() => request({ tty: "yes" }))).toBe("tty");
  });

  it("rejects environment names the guest could never use", () => {
    for (const key of ["", "A=B", "NUL\0"]) {
      expect(fieldOf(() => request({ env: { [key]: "v" } }))).toBe("env");
    }
    expect(fieldOf(() => request({ env: { K: "a\0b" } }))).toBe("env.K");
    expect(fieldOf(() => request({ env: { K: 5 } }))).toBe("env.K");
    expect(fieldOf(() => validateSandboxConfig({ name: "a", image: "x", env: { "": "v" } }))).toBe("env");
    expect(fieldOf(() => validateSandboxConfig({ name: "a", image: "x", env: { "A=B": "v" } }))).toBe("env");
  });

  it("bounds argument and environment sizes by the kernel's limits", () => {
    const big = "x".repeat(MAX_ARG_BYTES + 1);
    expect(fieldOf(() => request({ args: ["ok", big] }))).toBe("args[1]");
    expect(fieldOf(() => request({ env: { BIG: big } }))).toBe("env.BIG");
    expect(fieldOf(() => request({ args: Array.from({ length: 40 }, () => "y".repeat(100_000)) }))).toBe(
      "args",
    );
    // 1 MB of arguments in pieces under the per-string limit is fine.
    expect(request({ args: Array.from({ length: 10 }, () => "z".repeat(100_000)) }).argv).toHaveLength(11);
  });
});
