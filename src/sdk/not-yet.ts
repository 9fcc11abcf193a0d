/**
 * The rest of the seed's exports, present so code written against the seed compiles and loads: the config
 * builders (`Mount`, `Secret`) build the seed's config objects, and `Sandbox.create` rejects the fields
 * that carry them with an error naming the field until volumes and secrets land; `Volume` and
 * `VolumeHandle` fail with an `UnsupportedError` that says so. Nothing is accepted and ignored.
 */
import { UnsupportedError } from "../errors.js";

function notYet(feature: string, subject?: string): UnsupportedError {
  const about = subject === undefined ? "" : ` (${subject})`;
  return new UnsupportedError(feature, {
    reason: `${feature} are not supported by this release of microsandbox yet${about}`,
    hint: "see CHANGELOG.md for what this release supports",
  });
}

/** A volume mount, as the seed's `MountConfig`: exactly one of `bind`, `named`, `tmpfs`. */
export interface MountConfig {
  readonly bind?: string;
  readonly named?: string;
  readonly tmpfs?: boolean;
  readonly readonly?: boolean;
  readonly sizeMib?: number;
}

/** Builders of {@link MountConfig} (`volumes: { "/data": Mount.named("cache") }`). */
export const Mount = {
  /** A host directory. */
  bind: (path: string, options: { readonly?: boolean } = {}): MountConfig => ({ bind: path, ...options }),
  /** A named volume. */
  named: (name: string, options: { readonly?: boolean } = {}): MountConfig => ({ named: name, ...options }),
  /** An in-guest tmpfs. */
  tmpfs: (options: { sizeMib?: number; readonly?: boolean } = {}): MountConfig => ({
    tmpfs: true,
    ...options,
  }),
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

/** Options of `Volume.create`. */
export interface VolumeConfig {
  readonly name: string;
  readonly quotaMib?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A named volume's database handle (volumes are not in this release yet). */
export class VolumeHandle {
  /** The volume's name. */
  readonly name: string = "";
  private constructor() {
    throw notYet("volumes");
  }
}

/** Named volumes (not in this release yet: every method rejects with `UnsupportedError`). */
export class Volume {
  /** The volume's name. */
  readonly name: string = "";
  /** The volume's host directory. */
  readonly path: string = "";
  private constructor() {
    throw notYet("volumes");
  }

  /** Creates a named volume. */
  static create(config: VolumeConfig): Promise<Volume> {
    return Promise.reject(notYet("volumes", `volume ${JSON.stringify(config.name)}`));
  }

  /** The handle of a named volume. */
  static get(name: string): Promise<VolumeHandle> {
    return Promise.reject(notYet("volumes", `volume ${JSON.stringify(name)}`));
  }

  /** Every named volume. */
  static list(): Promise<VolumeHandle[]> {
    return Promise.reject(notYet("volumes"));
  }

  /** Removes a named volume. */
  static remove(name: string): Promise<void> {
    return Promise.reject(notYet("volumes", `volume ${JSON.stringify(name)}`));
  }
}
