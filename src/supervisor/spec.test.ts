import { describe, expect, it } from "vitest";
import { parseSpec } from "./spec.js";

const minimal = {
  name: "a",
  id: "0123456789ab",
  home: "/h",
  runDir: "/h/run/x",
  rootDisk: { path: "/h/root.qcow2", format: "qcow2" },
  cpus: 1,
  memoryMib: 512,
  hostname: "a",
  detached: false,
  stop: { signal: 15, graceMs: 10_000 },
};

describe("parseSpec", () => {
  it("takes a spec with or without the creator's environment", () => {
    expect(parseSpec(JSON.stringify(minimal)).name).toBe("a");
    expect(parseSpec(JSON.stringify({ ...minimal, env: { PATH: "/bin", MSB_HOME: "/h" } })).env).toEqual({
      PATH: "/bin",
      MSB_HOME: "/h",
    });
  });

  it("refuses an environment that is not strings, and a spec missing a field", () => {
    expect(() => parseSpec(JSON.stringify({ ...minimal, env: { PATH: 1 } }))).toThrow(/malformed/);
    expect(() => parseSpec(JSON.stringify({ ...minimal, env: "PATH=/bin" }))).toThrow(/malformed/);
    expect(() => parseSpec(JSON.stringify({ ...minimal, cpus: undefined }))).toThrow(/malformed/);
  });
});
