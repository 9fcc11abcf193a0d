/**
 * Secrets in a sandbox config: the seed's `Secret.env` builder, strict validation (every error names its field,
 * e.g. `secrets[0].allowHosts`), defaults, and the redacted form that is all the database ever sees.
 *
 * @packageDocumentation
 */
import { failConfig as fail } from "../config/invalid.js";

/** What a placeholder bound for a host the secret is not allowed for does. */
export type SecretViolationAction = "block" | "block-and-log" | "block-and-terminate";

/** Options of `Secret.env`, as the seed's `SecretEnvOptions`. */
export interface SecretEnvOptions {
  /** The real value: kept on the host, substituted for the placeholder in requests to allowed hosts. */
  readonly value: string;
  /** Host names the value may be sent to (exact, case-insensitive; an IP address matches a plain connection to it). */
  readonly allowHosts?: readonly string[];
  /** Wildcards such as `*.example.com`: any name of one or more labels under `example.com` (not the name itself). */
  readonly allowHostPatterns?: readonly string[];
  /** What the guest sees instead of the value (default `$MSB_<ENV_VAR>`). */
  readonly placeholder?: string;
  /** Substitute only in TLS connections whose upstream certificate verified (default true). */
  readonly requireTls?: boolean;
  /**
   * A placeholder bound anywhere else: `block` (default: the connection is reset), `block-and-log` (also a
   * warning in the supervisor log), `block-and-terminate` (also the sandbox is stopped).
   */
  readonly onViolation?: SecretViolationAction;
}

/** A secret, as the seed's `SecretEntry`. */
export interface SecretEntry extends SecretEnvOptions {
  /** The guest environment variable that holds the placeholder. */
  readonly envVar: string;
}

/** A secret as persisted in the database and `configJson`: every field but the value, defaults resolved. */
export interface RedactedSecret {
  readonly envVar: string;
  readonly allowHosts: readonly string[];
  readonly allowHostPatterns: readonly string[];
  readonly placeholder: string;
  readonly requireTls: boolean;
  readonly onViolation: SecretViolationAction;
}

/** A validated secret with defaults resolved (what the supervisor's guard is built from). */
export interface ResolvedSecret extends RedactedSecret {
  readonly value: string;
}

/** Builders of {@link SecretEntry} (`secrets: [Secret.env("OPENAI_API_KEY", { value, allowHosts })]`). */
export const Secret = {
  /** A secret exposed to the guest as environment variable `envVar`, holding a placeholder. */
  env: (envVar: string, options: SecretEnvOptions): SecretEntry => ({ envVar, ...options }),
} as const;

/** At most this many secrets per sandbox. */
export const MAX_SECRETS = 64;
/** Longest secret value, in bytes. */
export const MAX_SECRET_VALUE_BYTES = 16 * 1024;
/** Shortest and longest placeholder, in bytes. */
export const MIN_PLACEHOLDER_BYTES = 6;
export const MAX_PLACEHOLDER_BYTES = 256;
/** At most this many hosts and patterns per secret. */
export const MAX_SECRET_HOSTS = 256;

const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
// Printable ASCII without spaces: a placeholder must survive headers, URLs and shells unchanged.
const PLACEHOLDER = /^[\x21-\x7e]+$/;
const HOST = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const IPV6ISH = /^[0-9a-f:.]+$/;
const ACTIONS: readonly SecretViolationAction[] = ["block", "block-and-log", "block-and-terminate"];
const KNOWN = new Set([
  "envVar",
  "value",
  "allowHosts",
  "allowHostPatterns",
  "placeholder",
  "requireTls",
  "onViolation",
]);

/** The default placeholder of `envVar`. */
export function defaultPlaceholder(envVar: string): string {
  return `$MSB_${envVar}`;
}

function checkHosts(field: string, value: unknown, pattern: boolean): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(field, "must be an array of host names");
  if (value.length > MAX_SECRET_HOSTS) fail(field, `lists more than ${MAX_SECRET_HOSTS} hosts`);
  return value.map((item: unknown, i) => {
    if (typeof item !== "string") fail(`${field}[${i}]`, "must be a string");
    const host = item.toLowerCase().replace(/\.$/, "");
    if (pattern) {
      if (!host.startsWith("*.") || !HOST.test(host.slice(2)) || !host.slice(2).includes(".")) {
        fail(`${field}[${i}]`, `${JSON.stringify(item)} is not a pattern such as "*.example.com"`);
      }
    } else if (!HOST.test(host) && !(host.includes(":") && IPV6ISH.test(host))) {
      const hint = host.startsWith("*.") ? "put wildcards in allowHostPatterns" : undefined;
      fail(`${field}[${i}]`, `${JSON.stringify(item)} is not a host name or address`, hint);
    }
    return host;
  });
}

function checkOne(field: string, input: unknown): ResolvedSecret {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail(field, "must be a secret (Secret.env(name, { value, allowHosts }))");
  }
  const entry = input as Record<string, unknown>;
  for (const key of Object.keys(entry))
    if (!KNOWN.has(key)) fail(`${field}.${key}`, "is not a secret option");
  const envVar = entry["envVar"];
  if (typeof envVar !== "string" || !ENV_VAR.test(envVar)) {
    fail(
      `${field}.envVar`,
      "must be an environment variable name (letters, digits, '_', not starting with a digit)",
    );
  }
  const value = entry["value"];
  if (typeof value !== "string" || value === "") fail(`${field}.value`, "must be a non-empty string");
  if (Buffer.byteLength(value) > MAX_SECRET_VALUE_BYTES) {
    fail(`${field}.value`, `is longer than ${MAX_SECRET_VALUE_BYTES} bytes`);
  }
  // A value is substituted into HTTP headers: line breaks or NUL would let it forge headers.
  if (/[\0\r\n]/.test(value)) fail(`${field}.value`, "must not contain NUL, CR or LF");
  const placeholder = entry["placeholder"] ?? defaultPlaceholder(envVar);
  if (typeof placeholder !== "string" || !PLACEHOLDER.test(placeholder)) {
    fail(`${field}.placeholder`, "must be printable ASCII without spaces");
  }
  const bytes = placeholder.length;
  if (bytes < MIN_PLACEHOLDER_BYTES || bytes > MAX_PLACEHOLDER_BYTES) {
    fail(
      `${field}.placeholder`,
      `must be ${MIN_PLACEHOLDER_BYTES} to ${MAX_PLACEHOLDER_BYTES} characters long`,
    );
  }
  if (value.includes(placeholder) || placeholder.includes(value)) {
    fail(`${field}.placeholder`, "must differ from the value (neither may contain the other)");
  }
  const allowHosts = checkHosts(`${field}.allowHosts`, entry["allowHosts"], false);
  const allowHostPatterns = checkHosts(`${field}.allowHostPatterns`, entry["allowHostPatterns"], true);
  if (allowHosts.length + allowHostPatterns.length === 0) {
    fail(
      `${field}.allowHosts`,
      "must name at least one host (here or in allowHostPatterns)",
      "a secret allowed nowhere can never be used",
    );
  }
  const requireTls = entry["requireTls"] ?? true;
  if (typeof requireTls !== "boolean") fail(`${field}.requireTls`, "must be a boolean");
  const onViolation = entry["onViolation"] ?? "block";
  if (!ACTIONS.includes(onViolation as SecretViolationAction)) {
    fail(
      `${field}.onViolation`,
      `${JSON.stringify(onViolation)} is not one of ${ACTIONS.map((a) => `"${a}"`).join(", ")}`,
    );
  }
  return {
    envVar,
    value,
    allowHosts,
    allowHostPatterns,
    placeholder,
    requireTls,
    onViolation: onViolation as SecretViolationAction,
  };
}

/**
 * Validates `secrets` (the config field) and resolves defaults. `env` is the config's own environment: a
 * variable set there and by a secret is ambiguous, so it is rejected. Throws `InvalidConfigError`.
 */
export function validateSecrets(
  input: unknown,
  env: Readonly<Record<string, unknown>> | undefined,
): ResolvedSecret[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) fail("secrets", "must be an array of Secret.env(...) entries");
  if (input.length > MAX_SECRETS) fail("secrets", `has more than ${MAX_SECRETS} entries`);
  const secrets = input.map((entry: unknown, i) => checkOne(`secrets[${i}]`, entry));
  secrets.forEach((secret, i) => {
    if (env !== undefined && Object.hasOwn(env, secret.envVar)) {
      fail(`secrets[${i}].envVar`, `${secret.envVar} is also set in env`, "set it in one place");
    }
    for (let j = 0; j < i; j++) {
      const other = secrets[j];
      if (other === undefined) continue;
      if (other.envVar === secret.envVar)
        fail(`secrets[${i}].envVar`, `${secret.envVar} is used by secrets[${j}] too`);
      if (other.placeholder === secret.placeholder) {
        fail(
          `secrets[${i}].placeholder`,
          `is the placeholder of secrets[${j}] too`,
          "give one an explicit placeholder",
        );
      }
      // A placeholder is what the guest sees: one holding another secret's value would leak that value.
      if (other.placeholder.includes(secret.value) || secret.placeholder.includes(other.value)) {
        fail(`secrets[${i}].placeholder`, `and secrets[${j}] contain each other's value`);
      }
    }
    for (const [key, value] of Object.entries(env ?? {})) {
      if (typeof value === "string" && value.includes(secret.value)) {
        fail(
          `env.${key}`,
          `holds the value of secrets[${i}]`,
          "the guest must only ever see the placeholder",
        );
      }
    }
  });
  return secrets;
}

/** The secret without its value: what the database and `configJson` keep. */
export function redactSecret(secret: ResolvedSecret): RedactedSecret {
  return {
    envVar: secret.envVar,
    allowHosts: secret.allowHosts,
    allowHostPatterns: secret.allowHostPatterns,
    placeholder: secret.placeholder,
    requireTls: secret.requireTls,
    onViolation: secret.onViolation,
  };
}

/** The placeholder each secret puts into the guest's environment. */
export function placeholderEnv(
  secrets: readonly Pick<RedactedSecret, "envVar" | "placeholder">[] | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const secret of secrets ?? []) env[secret.envVar] = secret.placeholder;
  return env;
}
