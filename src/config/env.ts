/**
 * The one module that reads `process.env`. Everything else receives these values as arguments, so tests and
 * embedders can override them without touching the environment.
 */
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { InvalidConfigError } from "../errors.js";

/** Environment settings microsandbox honours. */
export interface MsbEnv {
  /** State directory: `MSB_HOME`, else `~/.microsandbox`. */
  readonly home: string;
  /** `MSB_QEMU`: an explicit QEMU binary to use instead of `qemu-system-<arch>` from PATH. */
  readonly qemuBinary: string | undefined;
  /** `MSB_VIRTIOFSD`: an explicit `virtiofsd` to share host folders with (default: QEMU's, see `src/vm/virtiofsd.ts`). */
  readonly virtiofsdBinary: string | undefined;
  /** `MSB_ACCEL`: force an accelerator (`kvm`, `hvf`, `tcg`) instead of detecting one. */
  readonly accel: string | undefined;
  /** `MSB_REGISTRY_MIRRORS`: comma-separated base URLs tried in order before Docker Hub. */
  readonly registryMirrors: readonly string[];
  /**
   * `MSB_REGISTRY_MIRRORS_ONLY=1`: Docker Hub images come only from the mirrors, never from Docker Hub itself
   * (air-gapped installs, and the test suite, which must not reach outside the machine).
   */
  readonly registryMirrorsOnly: boolean;
  /** `MSB_DNS_SERVERS`: comma-separated `ip[:port]` upstream resolvers. */
  readonly dnsServers: readonly string[];
  /** Docker's client configuration file (registry credentials): `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  readonly dockerConfigFile: string;
  /**
   * `MSB_METRICS_INTERVAL_MS`: period of the supervisor's background metrics sample (default 1000; `0` turns it
   * off, and each metrics call then samples over a short interval of its own). Not a whole number: the default.
   */
  readonly metricsIntervalMs: number;
  /**
   * Bound of every sandbox log (console, main process, supervisor): `MSB_LOG_MAX_BYTES` per file (default
   * 10 MiB) and `MSB_LOG_FILES` files kept, the live one included (default 3).
   */
  readonly logLimits: { readonly maxBytes: number; readonly files: number };
  /**
   * `MSB_TEMPLATES=0` turns VM templates off: every sandbox boots its kernel (default on: a create restores the
   * template of its image and VM shape, made by the first such create).
   */
  readonly templates: boolean;
  /**
   * `MSB_SPARE_SUPERVISOR=0` turns the spare supervisor off: a process that creates several sandboxes keeps one
   * supervisor process started ahead, so the next create skips node's start-up (`src/sdk/spare-supervisor.ts`).
   */
  readonly spareSupervisor: boolean;
  /**
   * `MSB_SPARE_VM=0` keeps the spare supervisor from warming a VM: by default it restores the VM template of its
   * creator's last create and runs one shell in it, so a create of the same image and shape takes a VM already
   * up (`src/supervisor/spare-vm.ts`). Only with templates on.
   */
  readonly spareVm: boolean;
  /**
   * `MSB_PIN_SHARE_VMS=0` lets the kernel place every VM's threads: by default a one-vCPU VM with host folders
   * (virtio-fs) under TCG runs, with its virtiofsds, on one host CPU (`src/vm/cpu-pin.ts`).
   */
  readonly pinShareVms: boolean;
  /**
   * `MSB_GUEST_ASLR=1` (or `true`, `yes`) keeps address-space randomization in guests under TCG, where it is off
   * by default: every process would otherwise have its libraries translated again (`kernelCmdline` in
   * `src/vm/argv.ts`). Guests under KVM always keep it.
   */
  readonly guestAslr: boolean;
  /** `PATH`, split: where external tools (mke2fs, debugfs, qemu-img) are looked up, before the sbin directories. */
  readonly searchPath: readonly string[];
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** An opt-in switch: `1`, `true` or `yes` (any case). */
function turnedOn(value: string | undefined): boolean {
  return ["1", "true", "yes"].includes((value ?? "").toLowerCase());
}

function wholeNumber(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidConfigError(name, `must be a positive integer, got ${value}`);
  return n;
}

/** Reads the environment (default: `process.env`) once into a typed, immutable {@link MsbEnv}. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): MsbEnv {
  const home = env["MSB_HOME"];
  return Object.freeze({
    home: home !== undefined && home !== "" ? home : join(homedir(), ".microsandbox"),
    qemuBinary: env["MSB_QEMU"] || undefined,
    virtiofsdBinary: env["MSB_VIRTIOFSD"] || undefined,
    accel: env["MSB_ACCEL"] || undefined,
    templates: env["MSB_TEMPLATES"] !== "0",
    spareSupervisor: env["MSB_SPARE_SUPERVISOR"] !== "0",
    spareVm: env["MSB_SPARE_VM"] !== "0",
    pinShareVms: env["MSB_PIN_SHARE_VMS"] !== "0",
    guestAslr: turnedOn(env["MSB_GUEST_ASLR"]),
    registryMirrors: list(env["MSB_REGISTRY_MIRRORS"]),
    registryMirrorsOnly: turnedOn(env["MSB_REGISTRY_MIRRORS_ONLY"]),
    dnsServers: list(env["MSB_DNS_SERVERS"]),
    dockerConfigFile: join(env["DOCKER_CONFIG"] || join(homedir(), ".docker"), "config.json"),
    metricsIntervalMs: wholeNumber(env["MSB_METRICS_INTERVAL_MS"]) ?? 1000,
    logLimits: Object.freeze({
      maxBytes: positiveInt("MSB_LOG_MAX_BYTES", env["MSB_LOG_MAX_BYTES"], 10 * 1024 * 1024),
      files: positiveInt("MSB_LOG_FILES", env["MSB_LOG_FILES"], 3),
    }),
    searchPath: (env["PATH"] ?? "").split(delimiter).filter((dir) => dir !== ""),
  });
}
