/**
 * The seed's enum objects (`PullPolicy.IfMissing`...), each with the string union type of the same name, so code
 * written either way (`PullPolicy.Always` or `"always"`) type-checks and runs.
 */

/** When `Sandbox.create` pulls the image. */
export const PullPolicy = { Always: "always", IfMissing: "if-missing", Never: "never" } as const;
/** One of the {@link PullPolicy} values. */
export type PullPolicy = (typeof PullPolicy)[keyof typeof PullPolicy];

/** Log levels of the seed's `logLevel` option. */
export const LogLevel = {
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
} as const;
/** One of the {@link LogLevel} values. */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The `eventType` of an exec event. */
export const ExecEventType = {
  Started: "started",
  Stdout: "stdout",
  Stderr: "stderr",
  Exited: "exited",
} as const;
/** One of the {@link ExecEventType} values. */
export type ExecEventType = (typeof ExecEventType)[keyof typeof ExecEventType];

/** The `action` of a network policy rule. */
export const PolicyAction = { Allow: "allow", Deny: "deny" } as const;
/** One of the {@link PolicyAction} values. */
export type PolicyAction = (typeof PolicyAction)[keyof typeof PolicyAction];
