import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { findExecutable, run, tail } from "./exec.js";

describe("run", () => {
  it("passes arguments verbatim (no shell), input on stdin, and extra environment", async () => {
    const sh = findExecutable("sh") ?? "/bin/sh";
    const lines: string[] = [];
    const { stdout } = await run(sh, ["-c", 'cat; echo "$1 $MSB_TEST_VAR"', "sh", "a b;$(x)"], {
      input: Buffer.from("in\n"),
      env: { MSB_TEST_VAR: "v" },
      onLine: (l) => lines.push(l),
    });
    expect(stdout.toString()).toBe("in\na b;$(x) v\n");
    expect(lines).toEqual(["in", "a b;$(x) v"]);
  });

  it("raises SetupError with the command's stderr on failure, and on a missing program", async () => {
    const sh = findExecutable("sh") ?? "/bin/sh";
    await expect(run(sh, ["-c", "echo boom >&2; exit 3"], { hint: "do this" })).rejects.toThrow(
      /exit status 3\):\nboom \(do this\)/,
    );
    await expect(run("/nonexistent/prog", [])).rejects.toThrow(SetupError);
  });
});

describe("findExecutable", () => {
  it("finds programs on PATH and absolute paths, not missing ones", () => {
    expect(findExecutable("sh")).toMatch(/\/sh$/);
    expect(findExecutable("/bin/sh")).toBe("/bin/sh");
    expect(findExecutable("definitely-not-a-program-msb")).toBeUndefined();
  });
});

describe("tail", () => {
  it("keeps the end of long output", () => {
    expect(tail("abcdef", 3)).toBe("...def");
    expect(tail(" short \n")).toBe("short");
  });
});
