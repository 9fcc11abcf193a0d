import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { formatOptions, wantsJson } from "./options.js";
import type { FormatOptions } from "./options.js";

/** The options `argv` gives a verb with {@link formatOptions} whose human form is `table`. */
function parse(argv: string[]): FormatOptions {
  const command = formatOptions(new Command("ls").exitOverride(), "table");
  command.parse(argv, { from: "user" });
  return command.opts<FormatOptions>();
}

describe("--format and --json", () => {
  it("defaults to the human form", () => {
    expect(wantsJson(parse([]), "table")).toBe(false);
    expect(wantsJson(parse(["--format", "table"]), "table")).toBe(false);
  });

  it("takes --format json and its shorthand --json", () => {
    expect(wantsJson(parse(["--format", "json"]), "table")).toBe(true);
    expect(wantsJson(parse(["--json"]), "table")).toBe(true);
  });

  it("rejects another format, naming it and the ones it takes", () => {
    const wrong = (): boolean => wantsJson(parse(["--format", "text"]), "table");
    expect(wrong).toThrow(InvalidConfigError);
    expect(wrong).toThrow('--format must be table or json, not "text"');
  });
});
