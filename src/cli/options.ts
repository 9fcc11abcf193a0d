/** Option parsing shared by the `msb` verbs. */
import type { Command } from "commander";
import { InvalidConfigError } from "../errors.js";

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `KEY=VALUE` pairs to an env record. */
export function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidConfigError("env", `expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** A positive integer option. */
export function parseCount(field: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidConfigError(field, `expected a positive integer, got ${value}`);
  return n;
}

/** What `--format` and `--json` parse to. */
export interface FormatOptions {
  readonly format: string;
  readonly json?: boolean;
}

/**
 * Adds `--format <human|json>` (default `human`: "table" or "text") and its shorthand `--json` to a verb that prints
 * something a script may read. Every such verb takes both, so `msb ls --format json` and `msb doctor --json` work.
 */
export function formatOptions(command: Command, human: string): Command {
  return command
    .option("--format <format>", `${human} or json`, human)
    .option("--json", "JSON output (--format json)");
}

/** Whether {@link formatOptions}' options ask for JSON; a format that is neither is an error naming it. */
export function wantsJson(opts: FormatOptions, human: string): boolean {
  if (opts.format !== human && opts.format !== "json") {
    throw new InvalidConfigError(
      "format",
      `--format must be ${human} or json, not ${JSON.stringify(opts.format)}`,
    );
  }
  return opts.json === true || opts.format === "json";
}
