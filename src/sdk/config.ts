/**
 * `SandboxConfig`, the seed's creation options, and their validation. Every field either works or is rejected
 * here, before anything is created, with an {@link InvalidConfigError} naming it: nothing is accepted and
 * silently ignored. Fields the seed documents that this release does not implement yet are rejected as such.
 */
import { checkEnvironment } from "./exec-limits.js";
import { guestSignalNumber } from "../protocol/signals.js";
import { failConfig as fail } from "../config/invalid.js";
import type { PullPolicy } from "../image/image-service.js";
import { compilePolicy } from "../net/policy/compile.js";
import type { NetworkConfig } from "../net/policy/types.js";
import { parsePorts } from "../net/ports/config.js";
import type { PortsConfig } from "../net/ports/config.js";
import { isLevel, LOG_LEVELS } from "../logs/logger.js";
import type { LogLevel } from "./enums.js";
import { VM_LIMITS } from "../vm/config.js";
import { checkVolumes } from "./mount-config.js";
import type { MountConfig } from "./mount-config.js";
import type { PatchConfig } from "../storage/patch.js";
import { validatePatches, validateScripts } from "../storage/patch-validate.js";
import { redactSecret, validateSecrets } from "../secrets/config.js";
import type { SecretEntry } from "../secrets/config.js";

/** Registry credentials (Basic auth) for pulling the image. Never persisted. */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** Options of `Sandbox.create()`. */
export interface SandboxConfig {
  /** Unique name: letters, digits, `.`, `_`, `-`; at most 63 characters; starts with a letter or digit. */
  readonly name: string;
  /**
   * OCI image reference (`python:3.12`, `localhost:5000/app@sha256:...`), or a local root: a host path starting
   * with `/`, `./` or `../` to a directory (the root tree) or a `.qcow2`/`.raw` disk with an ext4 root.
   */
  readonly image: string;
  /** Virtual CPUs (default 1). */
  readonly cpus?: number;
  /** Guest memory in MiB (default 512; at least {@link MIN_MEMORY_MIB}, below which the guest cannot boot). */
  readonly memoryMib?: number;
  /** Environment of every command, over the image's `Env`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory of commands (default: the image's `WorkingDir`, else the user's home). */
  readonly workdir?: string;
  /** Guest hostname (default: the sandbox name). */
  readonly hostname?: string;
  /** User commands run as (default: the image's `User`, else root). */
  readonly user?: string;
  /** Main process: overrides the image's `Entrypoint`. Setting it or `cmd` starts a main process at boot. */
  readonly entrypoint?: readonly string[];
  /** Main process arguments: overrides the image's `Cmd`. */
  readonly cmd?: readonly string[];
  /** Shell used by `shell()` (default `/bin/sh`). */
  readonly shell?: string;
  /** Replace an existing sandbox of the same name (it is stopped and removed first). */
  readonly replace?: boolean;
  /** When to pull: `if-missing` (default), `always`, `never`. */
  readonly pullPolicy?: PullPolicy;
  /** Credentials for the image's registry. */
  readonly registryAuth?: RegistryAuth;
  /** Free-form labels, stored with the sandbox and shown by `list()`. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Network policy, enforced on the host: `NetworkPolicy.publicOnly()` (default), `none()`, `allowAll()`, or
   * `{ policy, rules, defaultAction, blockDomains, blockDomainSuffixes, dnsRebindProtection, maxConnections }`.
   */
  readonly network?: NetworkConfig;
  /** Published ports: `{ "8080": 80 }` maps host 127.0.0.1:8080 to guest port 80; `"5353/udp"` for UDP. */
  readonly ports?: PortsConfig;
  /**
   * Signal the main process gets when the sandbox stops (`"SIGTERM"`, `"SIGINT"`, `"QUIT"`, a number; default:
   * the image's `StopSignal`, else SIGTERM). It has {@link STOP_GRACE_MS} to exit before everything is killed.
   */
  readonly stopSignal?: string | number;
  /** The sandbox stops itself this many seconds after it started (its status says why). */
  readonly maxDurationSecs?: number;
  /**
   * Lowest level the sandbox's supervisor log (`sandbox.logs({ source: "supervisor" })`) keeps: `trace`,
   * `debug`, `info` (default), `warn`, `error`.
   */
  readonly logLevel?: LogLevel;
  /**
   * Keep the sandbox's warnings (e.g. "running under TCG") off this process's stderr; they stay in its
   * supervisor log. Default false.
   */
  readonly quietLogs?: boolean;
  /**
   * Mounts: absolute guest path → `Mount.named(volume)`, `Mount.bind(hostDir)` (relative paths are resolved
   * against the creating process's working directory and stored absolute), or `Mount.tmpfs({ sizeMib })`; each
   * with `readonly`, enforced on the host for bind and named mounts.
   */
  readonly volumes?: Readonly<Record<string, MountConfig>>;
  /** Changes to the sandbox's own disk, applied once at create before anything runs (`Patch.text(...)`). */
  readonly patches?: readonly PatchConfig[];
  /** Scripts written to `/.msb/scripts/<name>` (mode 0755) at every boot; that directory is on `PATH`. */
  readonly scripts?: Readonly<Record<string, string>>;
  /**
   * Secrets that never enter the VM: `[Secret.env("OPENAI_API_KEY", { value, allowHosts })]`. The guest's
   * environment holds a placeholder; the host puts the value in its place only in requests to allowed hosts
   * (over TLS with a verified upstream, unless `requireTls: false`) and blocks the placeholder anywhere else.
   * Setting any turns TLS interception on for every host not bypassed.
   */
  readonly secrets?: readonly SecretEntry[];
}

/** The least `memoryMib` a sandbox accepts: measured, the guest does not boot or work reliably below it. */
export const MIN_MEMORY_MIB = VM_LIMITS.minMemoryMib;

/** How long the main process has after its stop signal before the guest's processes are killed. */
export const STOP_GRACE_MS = 10_000;

/** Seed fields that a later release implements; rejected rather than ignored. */
const NOT_YET: readonly string[] = [];

const KNOWN = new Set<string>([
  "name",
  "image",
  "cpus",
  "memoryMib",
  "env",
  "workdir",
  "hostname",
  "user",
  "entrypoint",
  "cmd",
  "shell",
  "replace",
  "pullPolicy",
  "registryAuth",
  "labels",
  "network",
  "ports",
  "stopSignal",
  "maxDurationSecs",
  "logLevel",
  "quietLogs",
  "volumes",
  "patches",
  "scripts",
  "secrets",
]);

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function checkStringRecord(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "must be an object");
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") fail(`${field}.${k}`, "must be a string");
  }
}

function checkStringArray(field: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
    fail(field, "must be an array of strings");
  }
}

function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

function checkMemory(value: unknown): void {
  checkInteger("memoryMib", value, 1, VM_LIMITS.maxMemoryMib);
  if (typeof value === "number" && value < MIN_MEMORY_MIB) {
    fail(
      "memoryMib",
      `must be at least ${MIN_MEMORY_MIB} MiB (the guest does not boot reliably with less), got ${value}`,
      `use memoryMib: ${MIN_MEMORY_MIB} or more`,
    );
  }
}

function checkOptionalString(field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "string" || value === ""))
    fail(field, "must be a non-empty string");
}

/** Validates a config from user code (untyped JS included). Throws {@link InvalidConfigError}. */
export function validateSandboxConfig(input: unknown): SandboxConfig {
  if (typeof input !== "object" || input === null) fail("config", "must be an object");
  const config = input as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (NOT_YET.includes(key)) {
      fail(key, "is not supported by this release of microsandbox yet", "remove it; see CHANGELOG.md");
    }
    if (!KNOWN.has(key)) fail(key, "is not a sandbox option");
  }
  const name = config["name"];
  if (typeof name !== "string" || name === "") fail("name", "is required");
  if (!NAME.test(name)) {
    fail(
      "name",
      `${JSON.stringify(name)} must be 1-63 letters, digits, '.', '_' or '-', starting alphanumeric`,
    );
  }
  if (typeof config["image"] !== "string" || config["image"] === "") fail("image", "is required");
  checkInteger("cpus", config["cpus"], 1, 64);
  checkMemory(config["memoryMib"]);
  checkEnvironment("env", config["env"]);
  checkStringRecord("labels", config["labels"]);
  checkStringArray("entrypoint", config["entrypoint"]);
  checkStringArray("cmd", config["cmd"]);
  for (const field of ["workdir", "user", "shell"]) checkOptionalString(field, config[field]);
  const hostname = config["hostname"];
  if (hostname !== undefined && (typeof hostname !== "string" || !HOSTNAME.test(hostname))) {
    fail("hostname", `${JSON.stringify(hostname)} is not a valid hostname`);
  }
  const workdir = config["workdir"];
  if (typeof workdir === "string" && !workdir.startsWith("/")) fail("workdir", "must be an absolute path");
  if (config["replace"] !== undefined && typeof config["replace"] !== "boolean")
    fail("replace", "must be a boolean");
  const policy = config["pullPolicy"];
  if (policy !== undefined && policy !== "always" && policy !== "if-missing" && policy !== "never") {
    fail("pullPolicy", `${JSON.stringify(policy)} is not one of "always", "if-missing", "never"`);
  }
  const auth = config["registryAuth"] as Record<string, unknown> | undefined;
  if (auth !== undefined && (typeof auth.username !== "string" || typeof auth.password !== "string")) {
    fail("registryAuth", "must be { username: string, password: string }");
  }
  const network = config["network"] as NetworkConfig | undefined;
  // Compiling checks every rule and `network.tls` (naming the field).
  compilePolicy(network, { field: "network" });
  parsePorts(config["ports"] as PortsConfig | undefined, "ports");
  const stopSignal = config["stopSignal"];
  if (stopSignal !== undefined && guestSignalNumber(stopSignal) === undefined) {
    fail(
      "stopSignal",
      `${JSON.stringify(stopSignal)} is not a signal`,
      'use a name such as "SIGTERM" or 1-64',
    );
  }
  checkInteger("maxDurationSecs", config["maxDurationSecs"], 1, 10 * 365 * 24 * 3600);
  const logLevel = config["logLevel"];
  if (logLevel !== undefined && !isLevel(logLevel)) {
    fail(
      "logLevel",
      `${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.map((l) => `"${l}"`).join(", ")}`,
    );
  }
  if (config["quietLogs"] !== undefined && typeof config["quietLogs"] !== "boolean")
    fail("quietLogs", "must be a boolean");
  checkVolumes(config["volumes"]);
  validatePatches(config["patches"]);
  validateScripts(config["scripts"]);
  validateSecrets(config["secrets"], config["env"] as Record<string, unknown> | undefined);
  return config as unknown as SandboxConfig;
}

/**
 * The config as persisted (the database, `configJson`): the registry password is never stored, nor any secret's
 * value (secrets keep every other field, defaults resolved; the values of a restart are sealed apart, see
 * `secrets/sealed-store.ts`).
 */
export function persistableConfig(config: SandboxConfig): string {
  const { registryAuth, secrets, ...rest } = config;
  return JSON.stringify({
    ...rest,
    ...(registryAuth ? { registryAuth: { username: registryAuth.username, password: "[redacted]" } } : {}),
    ...(secrets ? { secrets: validateSecrets(secrets, config.env).map(redactSecret) } : {}),
  });
}
