/**
 * The rest of the seed's exports, present so code written against the seed compiles and loads: the `Secret`
 * builder builds the seed's config objects, and `Sandbox.create` rejects the field that carries them with an
 * error naming it until secrets land. Nothing is accepted and ignored.
 */
/** Options of `Secret.env`, as the seed's `SecretEnvOptions`. */
export interface SecretEnvOptions {
  readonly value: string;
  readonly allowHosts?: readonly string[];
  readonly allowHostPatterns?: readonly string[];
  readonly placeholder?: string;
  readonly requireTls?: boolean;
  readonly onViolation?: "block" | "block-and-log" | "block-and-terminate";
}

/** A secret, as the seed's `SecretEntry`. */
export interface SecretEntry extends SecretEnvOptions {
  readonly envVar: string;
}

/** Builders of {@link SecretEntry} (`secrets: [Secret.env("OPENAI_API_KEY", { value, allowHosts })]`). */
export const Secret = {
  env: (envVar: string, options: SecretEnvOptions): SecretEntry => ({ envVar, ...options }),
} as const;
