import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { fieldOf } from "../config/field-of.fixture.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { sandboxPaths } from "./context.js";
import { readSandboxLogs, validateLogsOptions } from "./logs.js";
import { relaySandboxWarnings } from "./sandbox-warnings.js";

describe("validateLogsOptions", () => {
  it("defaults to the main log", () => {
    expect(validateLogsOptions({})).toEqual({ source: "main" });
    expect(validateLogsOptions({ source: "console", tail: 0 })).toEqual({ source: "console", tail: 0 });
  });

  it.each([
    [{ source: "kernel" }, "source"],
    [{ tail: -1 }, "tail"],
    [{ tail: 1.5 }, "tail"],
    [{ tail: "3" }, "tail"],
    [null, "options"],
  ])("rejects %j naming %s", (options, field) => {
    expect(fieldOf(() => validateLogsOptions(options))).toBe(field);
  });
});

describe("readSandboxLogs", () => {
  const makeHome = tempDirs("msb-logs-sdk-", { after: "each" });

  it("reads rotated files oldest first, each source from its own file", () => {
    const home = makeHome();
    const dir = sandboxPaths(home, "s").logDir;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "main.log.2"), "one\n");
    writeFileSync(join(dir, "main.log.1"), "two\n");
    writeFileSync(join(dir, "main.log"), "three\n");
    writeFileSync(join(dir, "console.log"), "boot\n");
    expect(readSandboxLogs(home, "s")).toBe("one\ntwo\nthree\n");
    expect(readSandboxLogs(home, "s", { tail: 2 })).toBe("two\nthree\n");
    expect(readSandboxLogs(home, "s", { source: "console" })).toBe("boot\n");
    expect(readSandboxLogs(home, "s", { source: "supervisor" })).toBe("");
  });
});

describe("relaySandboxWarnings", () => {
  it("shows each text once per process", () => {
    const emit = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const text = `unit-test warning ${Math.random()}`;
      relaySandboxWarnings("a", [text]);
      relaySandboxWarnings("b", [text]);
      expect(emit).toHaveBeenCalledTimes(1);
      expect(emit).toHaveBeenCalledWith(`sandbox a: ${text}`, { code: "MSB_SANDBOX" });
    } finally {
      emit.mockRestore();
    }
  });
});
