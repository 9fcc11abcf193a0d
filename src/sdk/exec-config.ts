/**
 * `ExecConfig`, the seed's execution options (plus `maxOutputBytes` and typed stdin), validated strictly: an
 * unknown key is an error naming it, never ignored. {@link toExecRequest} turns it into an agent request.
 */
import type { ExecRequest } from "../agent-client/exec.js";
import { InvalidConfigError } from "../errors.js";
import type { TtySize } from "../protocol/messages.js";
import type { ExecDefaults } from "./defaults.js";
import { checkEnvironment, checkExecSize } from "./exec-limits.js";

/** Standard input in a form that is never ambiguous (see {@link Stdin}). */
export type StdinSpec =
  | { readonly kind: "null" }
  | { readonly kind: "pipe" }
  | { readonly kind: "bytes"; readonly data: Uint8Array };

/** Builders of {@link StdinSpec}: `Stdin.null()`, `Stdin.pipe()`, `Stdin.bytes(data)`. */
export const Stdin = {
  /** The process reads /dev/null (the default). */
  null: (): StdinSpec => ({ kind: "null" }),
  /** The caller writes stdin through `ExecHandle.takeStdin()` (collected exec: empty input). */
  pipe: (): StdinSpec => ({ kind: "pipe" }),
  /** These bytes (a string is UTF-8), then end of input. */
  bytes: (data: Uint8Array | string): StdinSpec => ({
    kind: "bytes",
    data: typeof data === "string" ? Buffer.from(data) : data,
  }),
} as const;

/** What `stdin` accepts: the seed's `"null"`, `"pipe"` or text, bytes, or a {@link StdinSpec}. */
export type StdinInput = string | Uint8Array | StdinSpec;

/** Options of `execWithConfig()` and, without `cmd`/`args`, of `execStream()`. */
export interface ExecConfig {
  /** Program to run (looked up in the guest PATH). */
  readonly cmd: string;
  readonly args?: readonly string[];
  /** Working directory (default: the sandbox's `workdir`, the image's, else `/`). */
  readonly cwd?: string;
  /** Extra environment, over the sandbox's. */
  readonly env?: Readonly<Record<string, string>>;
  /** `name`, `uid` or `uid:gid` (default: the sandbox's user). */
  readonly user?: string;
  /** Kill the command after this many ms (collected exec then throws `ExecTimeoutError`). */
  readonly timeoutMs?: number;
  /**
   * Standard input: `"null"` (default), `"pipe"` (write it with `takeStdin()`; for a collected exec, empty
   * input), any other string is sent as text, a `Buffer`/`Uint8Array` as bytes; `Stdin.bytes("pipe")` sends the
   * text "pipe" itself.
   */
  readonly stdin?: StdinInput;
  /** Run on a pseudo-terminal (`true`: 24×80, or a size); stdout and stderr are then merged. */
  readonly tty?: boolean | TtySize;
  /** Collected exec: fail with `OutputLimitError` past this many bytes of output (default 256 MiB). */
  readonly maxOutputBytes?: number;
}

/** Options of `execStream()`: an {@link ExecConfig} without the command. */
export type ExecStreamOptions = Omit<ExecConfig, "cmd" | "args" | "maxOutputBytes">;

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "cmd",
  "args",
  "cwd",
  "env",
  "user",
  "timeoutMs",
  "stdin",
  "tty",
  "maxOutputBytes",
]);

/** The standard input of a request, from any accepted form. */
function stdinOf(value: unknown): ExecRequest["stdin"] {
  if (value === undefined || value === "null") return undefined;
  if (value === "pipe") return "pipe";
  if (typeof value === "string") return Buffer.from(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "object" && value !== null) {
    const spec = value as Record<string, unknown>;
    if (spec["kind"] === "null") return undefined;
    if (spec["kind"] === "pipe") return "pipe";
    if (spec["kind"] === "bytes" && spec["data"] instanceof Uint8Array) return stdinOf(spec["data"]);
  }
  throw new InvalidConfigError(
    "stdin",
    'must be "null", "pipe", a string, bytes, or Stdin.null()/pipe()/bytes()',
  );
}

function ttyOf(value: unknown): TtySize | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { rows: 24, cols: 80 };
  if (typeof value === "object" && value !== null) {
    const { rows, cols, ...rest } = value as Record<string, unknown>;
    const ok = (n: unknown): n is number =>
      typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new InvalidConfigError(`tty.${extra}`, "is not a terminal option");
    if (ok(rows) && ok(cols)) return { rows, cols };
  }
  throw new InvalidConfigError("tty", "must be a boolean or { rows, cols } with integers from 1 to 65535");
}

function positiveInteger(field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(
      field,
      `must be a positive integer, got ${typeof value === "number" ? value : typeof value}`,
    );
  }
  return value;
}

/** Builds the agent request for `config` under the sandbox `defaults`. Throws {@link InvalidConfigError}. */
export function toExecRequest(config: ExecConfig, defaults: ExecDefaults): ExecRequest {
  if (typeof (config as unknown) !== "object" || (config as unknown) === null)
    throw new InvalidConfigError("config", "must be an object");
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) throw new InvalidConfigError(key, "is not an exec option");
  }
  if (typeof config.cmd !== "string" || config.cmd === "") throw new InvalidConfigError("cmd", "is required");
  const args = config.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new InvalidConfigError("args", "must be an array of strings");
  }
  for (const field of ["cwd", "user"] as const) {
    const v = config[field];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new InvalidConfigError(field, "must be a non-empty string");
    }
  }
  checkEnvironment("env", config.env);
  const timeoutMs = positiveInteger("timeoutMs", config.timeoutMs);
  const maxOutputBytes = positiveInteger("maxOutputBytes", config.maxOutputBytes);
  const stdin = stdinOf(config.stdin);
  const tty = ttyOf(config.tty);
  const argv = [config.cmd, ...args];
  const env = { ...defaults.env, ...(config.env ?? {}) };
  checkExecSize(argv, env);
  const user = config.user ?? defaults.user;
  return {
    argv,
    env,
    cwd: config.cwd ?? defaults.cwd,
    ...(user === undefined ? {} : { user }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(stdin === undefined ? {} : { stdin }),
    ...(tty === undefined ? {} : { tty }),
    ...(maxOutputBytes === undefined ? {} : { maxOutputBytes }),
  };
}
