/**
 * What a process's arguments and environment may hold, checked in the SDK so a bad value fails at once with
 * an error naming it (not later in the guest, or as a frame too large for the wire): Linux's limits on one
 * argument or environment string and on their total, and the rules for environment names.
 */
import { InvalidConfigError } from "../errors.js";

/** Longest single argument or `KEY=VALUE` string the kernel accepts (MAX_ARG_STRLEN, with its NUL). */
export const MAX_ARG_BYTES = 128 * 1024 - 1;
/** Most bytes of arguments and environment together (the kernel's ARG_MAX at an 8 MiB stack, less room). */
export const MAX_EXEC_BYTES = 2 * 1024 * 1024 - 64 * 1024;

/** Checks an environment map: names non-empty without `=` or NUL, values strings without NUL. */
export function checkEnvironment(field: string, env: unknown): void {
  if (env === undefined) return;
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    throw new InvalidConfigError(field, "must be an object of strings");
  }
  for (const [key, value] of Object.entries(env)) {
    if (key === "" || key.includes("=") || key.includes("\0")) {
      throw new InvalidConfigError(
        field,
        `${JSON.stringify(key)} is not a valid variable name (empty, or has '=' or NUL)`,
      );
    }
    if (typeof value !== "string") throw new InvalidConfigError(`${field}.${key}`, "must be a string");
    if (value.includes("\0")) throw new InvalidConfigError(`${field}.${key}`, "must not contain a NUL byte");
  }
}

/** Checks the sizes of a process's argv and environment against the kernel's limits. */
export function checkExecSize(argv: readonly string[], env: Readonly<Record<string, string>>): void {
  let total = 0;
  argv.forEach((arg, i) => {
    const n = Buffer.byteLength(arg);
    if (arg.includes("\0"))
      throw new InvalidConfigError(i === 0 ? "cmd" : `args[${i - 1}]`, "contains a NUL byte");
    if (n > MAX_ARG_BYTES) {
      throw new InvalidConfigError(
        i === 0 ? "cmd" : `args[${i - 1}]`,
        `is ${n} bytes; one argument may be at most ${MAX_ARG_BYTES}`,
        { hint: "pass large data on stdin or in a file (sandbox.fs())" },
      );
    }
    total += n + 1;
  });
  for (const [key, value] of Object.entries(env)) {
    const n = Buffer.byteLength(key) + 1 + Buffer.byteLength(value);
    if (n > MAX_ARG_BYTES) {
      throw new InvalidConfigError(
        `env.${key}`,
        `is ${n} bytes; one variable may be at most ${MAX_ARG_BYTES}`,
        {
          hint: "pass large data on stdin or in a file",
        },
      );
    }
    total += n + 1;
  }
  if (total > MAX_EXEC_BYTES) {
    throw new InvalidConfigError(
      "args",
      `arguments and environment total ${total} bytes; at most ${MAX_EXEC_BYTES}`,
      {
        hint: "pass large data on stdin or in a file",
      },
    );
  }
}
