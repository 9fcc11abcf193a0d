/** How the image's config and the sandbox config combine into the defaults of every exec. */
import type { ImageConfig } from "../image/image-config.js";
import { guestSignalNumber } from "../protocol/signals.js";
import type { SandboxConfig } from "./config.js";
import { defaultPlaceholder, placeholderEnv } from "../secrets/config.js";

/** Defaults applied to each command run in a sandbox. */
export interface ExecDefaults {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly user: string | undefined;
  readonly shell: string;
}

/** Where `scripts` are written in the guest; on `PATH` of every exec and the main process when there are any. */
export const SCRIPTS_DIR = "/.msb/scripts";

/** The agent's `PATH` for a process whose env sets none (`agent/internal/server/spawn.go`). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Parses Docker's `KEY=VALUE` env list. */
function envList(list: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return env;
}

/**
 * The image's Env, WorkingDir and User apply unless the config overrides them. Each secret's variable holds its
 * placeholder, never its value.
 */
export function execDefaults(config: SandboxConfig, image: ImageConfig): ExecDefaults {
  const secrets = (config.secrets ?? []).map((s) => ({
    envVar: s.envVar,
    placeholder: s.placeholder ?? defaultPlaceholder(s.envVar),
  }));
  const env: Record<string, string> = {
    ...envList(image.env),
    ...(config.env ?? {}),
    ...placeholderEnv(secrets),
  };
  if (config.scripts !== undefined && Object.keys(config.scripts).length > 0) {
    env["PATH"] = `${env["PATH"] ?? DEFAULT_PATH}:${SCRIPTS_DIR}`;
  }
  return {
    env,
    // Docker's rule: the image's WorkingDir, else "/" (not the user's home).
    cwd: config.workdir ?? (image.workingDir || "/"),
    user: config.user ?? (image.user || undefined),
    shell: config.shell ?? "/bin/sh",
  };
}

/**
 * The main process, Docker-style: the config's entrypoint (else the image's) followed by the config's cmd
 * (else the image's cmd, unless the entrypoint was overridden). Only when the config sets either.
 */
export function mainProcess(config: SandboxConfig, image: ImageConfig): string[] | undefined {
  if (config.entrypoint === undefined && config.cmd === undefined) return undefined;
  const entrypoint = config.entrypoint ?? image.entrypoint ?? [];
  const cmd = config.cmd ?? (config.entrypoint === undefined ? (image.cmd ?? []) : []);
  const argv = [...entrypoint, ...cmd];
  return argv.length > 0 ? argv : undefined;
}

/** The main process's stop signal: the config's, else the image's `StopSignal` (if valid), else SIGTERM. */
export function stopSignalOf(config: SandboxConfig, image: ImageConfig): number {
  return guestSignalNumber(config.stopSignal) ?? guestSignalNumber(image.stopSignal) ?? 15;
}
