/** Results of collected execution, shaped as the seed's `ExecOutput` and `ExitStatus`. */
import type { ExecResult } from "../agent-client/exec.js";

/** Exit code and success flag of a finished command or sandbox. */
export interface ExitStatus {
  /** Exit status; 128 + n when killed by signal n. */
  readonly code: number;
  /** `code === 0`. */
  readonly success: boolean;
}

/** Captured stdout/stderr with the exit status. */
export class ExecOutput {
  readonly #result: ExecResult;

  /** @internal */
  constructor(result: ExecResult) {
    this.#result = result;
  }

  /** Exit status; 128 + n when killed by signal n. */
  get code(): number {
    return this.#result.code;
  }

  /** True when the command exited with 0. */
  get success(): boolean {
    return this.#result.code === 0;
  }

  /** True when the command was killed because its `timeoutMs` expired. */
  get timedOut(): boolean {
    return this.#result.timedOut;
  }

  /** Standard output decoded as UTF-8 (invalid sequences replaced). */
  stdout(): string {
    return this.#result.stdout.toString("utf8");
  }

  /** Standard error decoded as UTF-8 (invalid sequences replaced). */
  stderr(): string {
    return this.#result.stderr.toString("utf8");
  }

  /** Standard output as raw bytes. */
  stdoutBytes(): Buffer {
    return this.#result.stdout;
  }

  /** Standard error as raw bytes. */
  stderrBytes(): Buffer {
    return this.#result.stderr;
  }

  /** The exit status. */
  status(): ExitStatus {
    return { code: this.code, success: this.success };
  }
}
