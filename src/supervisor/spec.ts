/**
 * What the SDK hands a supervisor process on its standard input: everything needed to boot and serve one
 * sandbox. Secret values travel this way only (never on argv, never in the database).
 */
import type { Level } from "../logs/logger.js";
import type { NetworkConfig } from "../net/policy/types.js";
import type { PortsConfig } from "../net/ports/config.js";
import type { MountPlan } from "../storage/mount-plan.js";
import type { PatchConfig } from "../storage/patch.js";
import type { ResolvedSecret } from "../secrets/config.js";
import type { RootDiskOptions } from "../vm/microvm.js";
import type { WireError } from "../wire-error.js";

/**
 * Set in a spare supervisor's environment to its stderr file: a spare that reads end-of-input before any spec
 * (its creator exited without using it) removes that file and exits quietly.
 */
export const SPARE_STDERR_ENV = "MSB_SPARE_SUPERVISOR_STDERR";

/** The supervisor's launch specification. */
export interface SupervisorSpec {
  readonly name: string;
  /** The incarnation of `name` this supervisor serves (its database row's id). */
  readonly id: string;
  /** State directory (`MSB_HOME`). */
  readonly home: string;
  /** Short directory for the sockets. */
  readonly runDir: string;
  /** Directory of the sandbox's logs (console, main, supervisor); default `runDir`. */
  readonly logDir?: string;
  /** Lowest level the supervisor's log keeps (the config's `logLevel`); default `info`. */
  readonly logLevel?: Level;
  readonly rootDisk: RootDiskOptions;
  readonly cpus: number;
  readonly memoryMib: number;
  readonly hostname: string;
  /** Detached sandboxes outlive their creator; attached ones stop when it dies. */
  readonly detached: boolean;
  /**
   * The creator's environment, sent to a spare supervisor (started before the create, with the environment of
   * then): it replaces the supervisor's own before anything reads it, so QEMU and every setting see the
   * creator's as it is now.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Network policy and DNS settings (default public-only). */
  readonly network?: NetworkConfig;
  /** Published ports. */
  readonly ports?: PortsConfig;
  /** TLS interception (present when on: `network.tls` given, or secrets). */
  readonly tls?: TlsSpec;
  /** The sandbox's volumes, resolved (see `storage/mount-plan.ts`). */
  readonly mounts?: MountPlan;
  /**
   * Rootfs patches (host sources absolute). Those to `/etc/hosts` and `/etc/resolv.conf` apply to the generated
   * files at every boot; the others are applied to the disk while {@link SupervisorSpec.patchMarker} is missing.
   */
  readonly patches?: readonly PatchConfig[];
  /** Host file the supervisor creates once the patches are applied: later boots do not apply them again. */
  readonly patchMarker?: string;
  /** Scripts written to `/.msb/scripts` at every boot. */
  readonly scripts?: Readonly<Record<string, string>>;
  /** The main process (entrypoint + cmd), started in the background at boot; output to `main.log`. */
  readonly main?: MainProcessSpec;
  /** What a stop does first. */
  readonly stop: StopSpec;
  /** The sandbox stops itself this long after it started running (`maxDurationSecs`). */
  readonly maxDurationMs?: number;
  /**
   * A create from an image: the root disk does not exist yet, the supervisor makes it (`supervisor/vm-boot.ts`).
   * Absent on a start (the sandbox's own disk) and for a local root (made by the SDK).
   */
  readonly newRootDisk?: NewRootDisk;
  /** Secrets, values included: the guard of the network stack substitutes them (see `secrets/guard.ts`). */
  readonly secrets?: readonly ResolvedSecret[];
}

/**
 * What the supervisor needs to intercept TLS (built by the SDK, `sdk/tls-spec.ts`). `caCertPem` is also
 * installed in the guest at every boot (`guest-ca-install.ts`).
 */
export interface TlsSpec {
  /** The CA certificate leaves are signed with (PEM): the one the guest must trust. */
  readonly caCertPem: string;
  /** Where the supervisor reads that CA's private key (the key itself never travels in the spec). */
  readonly caKeyPath: string;
  /** Extra CAs trusted for upstream certificates (PEM): `network.tls.upstreamCaCert`, `NODE_EXTRA_CA_CERTS`. */
  readonly upstreamCaPems: readonly string[];
}

/** The image a new sandbox's root disk is made from (`supervisor/vm-boot.ts`). */
export interface NewRootDisk {
  readonly imageDigest: string;
  /** The image's base disk (raw ext4): the backing file of a cold boot's overlay, and what templates are made of. */
  readonly baseDisk: string;
  /**
   * Restore the VM from the template of its image and shape (made first when missing) instead of booting it, when
   * it has no volumes; its root disk is then a copy of the template's child disk. False with `MSB_TEMPLATES=0`.
   */
  readonly template: boolean;
}

/** How a sandbox stops: its main process gets `signal`, and `graceMs` to exit before the VM powers off. */
export interface StopSpec {
  /** Guest signal number (15 for SIGTERM). */
  readonly signal: number;
  readonly graceMs: number;
}

/** The sandbox's main process. */
export interface MainProcessSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  readonly user?: string | undefined;
}

/** Name of the SDK control socket inside `runDir`. */
export const CONTROL_SOCKET = "control.sock";

/**
 * The single line a supervisor prints on stdout once it is ready, or when it failed to start. A failure carries
 * the error as a {@link WireError}, so the SDK rethrows it with its class and fields (see `sdk/launch.ts`).
 */
export type SupervisorReport =
  | {
      readonly ready: true;
      readonly pid: number;
      readonly qemuPid: number;
      readonly bootMs: number;
      /** Warnings logged while booting (e.g. TCG), for the creator's terminal unless `quietLogs`. */
      readonly warnings?: readonly string[];
    }
  | { readonly ready: false; readonly error: WireError };

/** An object whose values are all strings (an environment). */
function isStringRecord(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && Object.values(value).every((v) => typeof v === "string")
  );
}

/** Parses a spec received on stdin (our own format, still checked: a bad spec must fail clearly). */
export function parseSpec(text: string): SupervisorSpec {
  const value = JSON.parse(text) as Partial<SupervisorSpec>;
  const ok =
    typeof value.name === "string" &&
    typeof value.id === "string" &&
    typeof value.stop?.signal === "number" &&
    typeof value.stop.graceMs === "number" &&
    (value.maxDurationMs === undefined || typeof value.maxDurationMs === "number") &&
    typeof value.home === "string" &&
    typeof value.runDir === "string" &&
    typeof value.rootDisk?.path === "string" &&
    typeof value.cpus === "number" &&
    typeof value.memoryMib === "number" &&
    typeof value.hostname === "string" &&
    typeof value.detached === "boolean" &&
    (value.env === undefined || isStringRecord(value.env)) &&
    (value.tls === undefined ||
      (typeof value.tls.caCertPem === "string" &&
        typeof value.tls.caKeyPath === "string" &&
        Array.isArray(value.tls.upstreamCaPems))) &&
    (value.secrets === undefined || Array.isArray(value.secrets)) &&
    (value.newRootDisk === undefined ||
      (typeof value.newRootDisk.imageDigest === "string" &&
        typeof value.newRootDisk.baseDisk === "string" &&
        typeof value.newRootDisk.template === "boolean")) &&
    (value.mounts === undefined ||
      (Array.isArray(value.mounts.mounts) &&
        Array.isArray(value.mounts.shares) &&
        Array.isArray(value.mounts.disks)));
  if (!ok) throw new Error("malformed supervisor spec");
  return value as SupervisorSpec;
}
