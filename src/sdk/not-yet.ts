/**
 * The rest of the seed's exports, present so code written against the seed compiles and loads: the config
 * builders (`Patch`, `Secret`) build the seed's config objects, and `Sandbox.create` rejects the fields that
 * carry them with an error naming the field until patches and secrets land. Nothing is accepted and ignored.
 */
/** A change to the root filesystem before start, as the seed's `PatchConfig`. */
export interface PatchConfig {
  readonly kind: "text" | "file" | "copyFile" | "copyDir" | "symlink" | "mkdir" | "remove" | "append";
  readonly path?: string;
  readonly content?: string;
  readonly src?: string;
  readonly dst?: string;
  readonly target?: string;
  readonly link?: string;
  readonly mode?: number;
  readonly replace?: boolean;
}

/** Builders of {@link PatchConfig} (`patches: [Patch.text("/etc/motd", "hi")]`). */
export const Patch = {
  text: (path: string, content: string, options: { mode?: number; replace?: boolean } = {}): PatchConfig => ({
    kind: "text",
    path,
    content,
    ...options,
  }),
  mkdir: (path: string, options: { mode?: number } = {}): PatchConfig => ({
    kind: "mkdir",
    path,
    ...options,
  }),
  append: (path: string, content: string): PatchConfig => ({ kind: "append", path, content }),
  copyFile: (src: string, dst: string, options: { mode?: number; replace?: boolean } = {}): PatchConfig => ({
    kind: "copyFile",
    src,
    dst,
    ...options,
  }),
  copyDir: (src: string, dst: string, options: { replace?: boolean } = {}): PatchConfig => ({
    kind: "copyDir",
    src,
    dst,
    ...options,
  }),
  symlink: (target: string, link: string, options: { replace?: boolean } = {}): PatchConfig => ({
    kind: "symlink",
    target,
    link,
    ...options,
  }),
  remove: (path: string): PatchConfig => ({ kind: "remove", path }),
} as const;

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
