/** `ExecConfig`, the seed's full execution options, and its translation to an agent request. */
import type { ExecRequest } from "../agent-client/exec.js";
import { InvalidConfigError } from "../errors.js";
import type { ExecDefaults } from "./defaults.js";

/** Options of `execWithConfig()`. */
export interface ExecConfig {
  /** Program to run (looked up in the guest PATH). */
  readonly cmd: string;
  readonly args?: readonly string[];
  /** Working directory (default: the sandbox's `workdir`, the image's, else the user's home). */
  readonly cwd?: string;
  /** Extra environment, over the sandbox's. */
  readonly env?: Readonly<Record<string, string>>;
  /** `name`, `uid` or `uid:gid` (default: the sandbox's user). */
  readonly user?: string;
  /** Kill the command after this many ms and throw `ExecTimeoutError`. */
  readonly timeoutMs?: number;
  /** Standard input: `"null"` (default: /dev/null), or the bytes to feed (string or Buffer). */
  readonly stdin?: string | Buffer;
  /** Pseudo-terminal: not supported by collected execution in this release (rejected when true). */
  readonly tty?: boolean;
}

/** Builds the agent request for `config` under the sandbox `defaults`. Throws {@link InvalidConfigError}. */
export function toExecRequest(config: ExecConfig, defaults: ExecDefaults): ExecRequest {
  if (typeof config.cmd !== "string" || config.cmd === "") throw new InvalidConfigError("cmd", "is required");
  const args = config.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new InvalidConfigError("args", "must be an array of strings");
  }
  if (config.tty === true) {
    throw new InvalidConfigError("tty", "pseudo-terminals are not supported by this release yet");
  }
  const timeout = config.timeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
    throw new InvalidConfigError("timeoutMs", `must be a positive integer, got ${String(timeout)}`);
  }
  if (config.stdin === "pipe") {
    throw new InvalidConfigError(
      "stdin",
      '"pipe" needs a streaming exec, which this release does not have yet',
      {
        hint: "pass the input itself as a string or Buffer",
      },
    );
  }
  const cwd = config.cwd ?? defaults.cwd;
  const user = config.user ?? defaults.user;
  return {
    argv: [config.cmd, ...args],
    env: { ...defaults.env, ...(config.env ?? {}) },
    cwd,
    ...(user === undefined ? {} : { user }),
    ...(timeout === undefined ? {} : { timeoutMs: timeout }),
    ...(config.stdin === undefined || config.stdin === "null" ? {} : { stdin: config.stdin }),
  };
}
