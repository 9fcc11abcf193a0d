/**
 * Errors of microsandbox: one root class, {@link MsbError}, with a stable `code` per failure kind and a `hint`
 * that says what to do next. Catch by class (`err instanceof SandboxNotFoundError`) or by code
 * (`err.code === "MSB_ERR_SANDBOX_NOT_FOUND"`); codes never change meaning once released.
 *
 * @packageDocumentation
 */

/**
 * Every error code microsandbox raises (docs/errors.md has the table). A code added here must also get a class in
 * the wire-error registry of `src/wire-error.ts`: the compiler enforces it.
 */
export const MSB_ERROR_CODES = [
  "MSB_ERR_INVALID_CONFIG",
  "MSB_ERR_RUNTIME_NOT_INSTALLED",
  "MSB_ERR_SETUP_FAILED",
  "MSB_ERR_VM_START",
  "MSB_ERR_VM_BOOT_TIMEOUT",
  "MSB_ERR_VM_EXITED",
  "MSB_ERR_PROTOCOL",
  "MSB_ERR_PROTOCOL_VERSION",
  "MSB_ERR_AGENT",
  "MSB_ERR_COMMAND_NOT_FOUND",
  "MSB_ERR_EXEC_TIMEOUT",
  "MSB_ERR_OUTPUT_LIMIT",
  "MSB_ERR_INVALID_STATE",
  "MSB_ERR_SANDBOX_NOT_FOUND",
  "MSB_ERR_SANDBOX_EXISTS",
  "MSB_ERR_SANDBOX_CRASHED",
  "MSB_ERR_SANDBOX_STILL_RUNNING",
  "MSB_ERR_IMAGE_REFERENCE",
  "MSB_ERR_IMAGE_NOT_FOUND",
  "MSB_ERR_IMAGE_IN_USE",
  "MSB_ERR_IMAGE_PULL",
  "MSB_ERR_IMAGE_DIGEST",
  "MSB_ERR_REGISTRY_AUTH",
  "MSB_ERR_ROOTFS_BUILD",
  "MSB_ERR_STORE",
  "MSB_ERR_NET_PACKET",
  "MSB_ERR_NETWORK",
  "MSB_ERR_PORT_IN_USE",
  "MSB_ERR_NOT_SUPPORTED",
  "MSB_ERR_STREAM_LIMIT",
  "MSB_ERR_FS",
  "MSB_ERR_VOLUME_NOT_FOUND",
  "MSB_ERR_VOLUME_EXISTS",
  "MSB_ERR_VOLUME_IN_USE",
  "MSB_ERR_PATCH_FAILED",
  "MSB_ERR_PRIVILEGE_REQUIRED",
] as const;

/** Every error code microsandbox raises. See docs/errors.md for the table. */
export type MsbErrorCode = (typeof MSB_ERROR_CODES)[number];

const MSB_ERROR_BRAND = Symbol.for("microsandbox.error");

/** Options common to every {@link MsbError}. */
export interface MsbErrorOptions {
  /** The underlying failure, kept as `error.cause`. */
  cause?: unknown;
  /** What the user can do about it; appended to the message. */
  hint?: string;
}

/**
 * Root of every error microsandbox throws. `instanceof MsbError` holds even when two copies of the package are
 * loaded (the check is by a global symbol, not by class identity).
 */
export class MsbError extends Error {
  /** Stable, documented code of this failure kind. */
  readonly code: MsbErrorCode;
  /** What to do next, if anything can be done. */
  readonly hint: string | undefined;

  constructor(code: MsbErrorCode, message: string, options: MsbErrorOptions = {}) {
    super(options.hint === undefined ? message : `${message} (${options.hint})`, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.name = new.target.name;
  }

  /** Brand check that survives duplicate installs of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== MsbError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && MSB_ERROR_BRAND in value;
  }

  /** @internal */
  get [MSB_ERROR_BRAND](): true {
    return true;
  }
}

/** A configuration value is invalid. `field` names it (`"cpus"`, `"exec.argv"`, ...). */
export class InvalidConfigError extends MsbError {
  /** The offending field, as a dotted path. */
  readonly field: string;
  constructor(field: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_INVALID_CONFIG", `invalid ${field}: ${message}`, options);
    this.field = field;
  }
}

/** The runtime (QEMU, guest kernel, agent) is missing; run `npm run setup` or `install()`. */
export class RuntimeNotInstalledError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_RUNTIME_NOT_INSTALLED", message, {
      hint: "run `npx msb setup` (or call install()) as root",
      ...options,
    });
  }
}

/** Runtime set-up could not complete (no root, no apt, a download failed, the agent did not build). */
export class SetupError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_SETUP_FAILED", message, options);
  }
}

/** The VM could not be started, did not boot in time, or exited unexpectedly. */
export class VmError extends MsbError {
  /** Path of the guest console log, when there is one: read it to see why the guest failed. */
  readonly consoleLog: string | undefined;
  /** The last of what QEMU wrote to stderr (at most 4 KiB), when QEMU itself exited. */
  readonly qemuStderr: string | undefined;
  constructor(
    code: "MSB_ERR_VM_START" | "MSB_ERR_VM_BOOT_TIMEOUT" | "MSB_ERR_VM_EXITED",
    message: string,
    options: MsbErrorOptions & { consoleLog?: string; qemuStderr?: string } = {},
  ) {
    super(code, message, {
      ...options,
      hint: options.hint ?? (options.consoleLog ? `guest console log: ${options.consoleLog}` : undefined),
    } as MsbErrorOptions);
    this.consoleLog = options.consoleLog;
    this.qemuStderr = options.qemuStderr;
  }
}

/** The guest agent broke the protocol (bad frame, bad message, wrong version). The connection is closed. */
export class ProtocolError extends MsbError {
  constructor(
    message: string,
    options: MsbErrorOptions & { code?: "MSB_ERR_PROTOCOL" | "MSB_ERR_PROTOCOL_VERSION" } = {},
  ) {
    super(options.code ?? "MSB_ERR_PROTOCOL", message, options);
  }
}

/** The guest agent reported a failure of an operation (`agentCode` is its errno-style code, e.g. `EACCES`). */
export class AgentError extends MsbError {
  /** The agent's error code (`EINVAL`, `ENOENT`, `EACCES`, `ENOTDIR`, `EUSER`, `EIO`, ...). */
  readonly agentCode: string;
  constructor(agentCode: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_AGENT", message, options);
    this.agentCode = agentCode;
  }
}

/** The command to execute does not exist in the guest. */
export class CommandNotFoundError extends MsbError {
  /** The command that was not found. */
  readonly command: string;
  constructor(command: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_COMMAND_NOT_FOUND", message, {
      hint: "check the command name and the PATH of the image",
      ...options,
    });
    this.command = command;
  }
}

/** An operation is not valid in the current state (exec on a stopped VM, double start...). */
export class InvalidStateError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_INVALID_STATE", message, options);
  }
}

/** Collected output exceeded the configured limit; use a streaming exec for large outputs. */
export class OutputLimitError extends MsbError {
  constructor(limitBytes: number, options: MsbErrorOptions = {}) {
    super("MSB_ERR_OUTPUT_LIMIT", `collected output exceeded ${limitBytes} bytes`, {
      hint: "raise maxOutputBytes or stream the output",
      ...options,
    });
  }
}

/**
 * A network packet could not be built (a field out of range, a payload too large for its header) or a parse
 * error was turned into an exception by the caller. Parsers of guest bytes never throw: they return a
 * `ParseError` value (see `src/net/packet/result.ts`).
 */
export class PacketError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_NET_PACKET", message, options);
  }
}

/** An image reference could not be parsed. `reference` is the string as the user wrote it. */
export class ImageReferenceError extends MsbError {
  /** The reference as given. */
  readonly reference: string;
  constructor(reference: string, reason: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_IMAGE_REFERENCE", `invalid image reference ${JSON.stringify(reference)}: ${reason}`, {
      hint: 'write it as Docker does: "name[:tag][@sha256:digest]", e.g. "python:3.12" or "localhost:5000/app@sha256:..."',
      ...options,
    });
    this.reference = reference;
  }
}

/** The image (or tag) does not exist in the registry, or is not cached locally when the pull policy forbids pulling. */
export class ImageNotFoundError extends MsbError {
  /** The normalized reference that was looked up. */
  readonly reference: string;
  constructor(reference: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_IMAGE_NOT_FOUND", message, {
      hint: "check the image name and tag (and the registry host); private images need registryAuth or `docker login`",
      ...options,
    });
    this.reference = reference;
  }
}

/** The image is used by a sandbox (it holds a lease on it) and cannot be removed. */
export class ImageInUseError extends MsbError {
  /** The image as the user named it. */
  readonly reference: string;
  /** Who holds it, e.g. `sandbox:web`. */
  readonly holders: readonly string[];
  constructor(reference: string, holders: readonly string[], options: MsbErrorOptions = {}) {
    super("MSB_ERR_IMAGE_IN_USE", `image ${reference} is in use by ${holders.join(", ")}`, {
      hint: "remove the sandboxes that use it first",
      ...options,
    });
    this.reference = reference;
    this.holders = holders;
  }
}

/** A pull failed for a reason other than authentication, a missing image or a bad digest (network, registry error, disk). */
export class ImagePullError extends MsbError {
  /** The normalized reference being pulled. */
  readonly reference: string;
  constructor(reference: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_IMAGE_PULL", `pulling ${reference} failed: ${message}`, {
      hint: "check that the registry is reachable (mirrors, insecure registries and CA are set in ~/.microsandbox/config.json)",
      ...options,
    });
    this.reference = reference;
  }
}

/** Content did not match its digest (a manifest, config or layer blob), or a digest string is malformed. */
export class ImageDigestError extends MsbError {
  /** The digest the content was supposed to have. */
  readonly expected: string;
  /** The digest it actually had, when it was computed. */
  readonly actual: string | undefined;
  constructor(message: string, options: MsbErrorOptions & { expected: string; actual?: string }) {
    super("MSB_ERR_IMAGE_DIGEST", message, {
      hint: "the registry served corrupted or tampered content; nothing was cached. Retry, or report it to the registry owner",
      ...options,
    });
    this.expected = options.expected;
    this.actual = options.actual;
  }
}

/** The registry refused our credentials, or requires credentials we do not have. */
export class RegistryAuthError extends MsbError {
  /** The registry host (`docker.io`, `localhost:5000`, ...). */
  readonly registry: string;
  constructor(registry: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_REGISTRY_AUTH", message, {
      hint: `check the username and password given in registryAuth, or in ~/.docker/config.json for ${registry}`,
      ...options,
    });
    this.registry = registry;
  }
}

/** The read-only root disk of an image could not be built (bad layer, tool failure, disk full). */
export class RootfsBuildError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_ROOTFS_BUILD", message, {
      hint: "nothing was kept; the build is retried on the next use. e2fsprogs >= 1.47 (mke2fs, debugfs) must be installed",
      ...options,
    });
  }
}

/** The local state database failed (locked too long, corrupt, written by a newer version). */
export class StoreError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_STORE", message, options);
  }
}

/** No sandbox has this name. */
export class SandboxNotFoundError extends MsbError {
  /** The name looked up. */
  readonly sandbox: string;
  constructor(name: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_SANDBOX_NOT_FOUND", `no sandbox named ${JSON.stringify(name)}`, {
      hint: "`msb ls` lists the sandboxes",
      ...options,
    });
    this.sandbox = name;
  }
}

/** A sandbox with this name already exists. */
export class SandboxExistsError extends MsbError {
  /** The name that is taken. */
  readonly sandbox: string;
  constructor(name: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_SANDBOX_EXISTS", `a sandbox named ${JSON.stringify(name)} already exists`, {
      hint: "pick another name, remove it (`msb rm`), or pass replace: true",
      ...options,
    });
    this.sandbox = name;
  }
}

/** The sandbox to start (or remove) is running, or another process is starting it. */
export class SandboxStillRunningError extends MsbError {
  /** The sandbox's name. */
  readonly sandbox: string;
  /** Its status when the request was refused (`running`, `starting`...). */
  readonly status: string;
  constructor(name: string, status: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_SANDBOX_STILL_RUNNING", `sandbox ${JSON.stringify(name)} is ${status}`, {
      hint: "connect to it (Sandbox.get(name) then connect()), or stop it first",
      ...options,
    });
    this.sandbox = name;
    this.status = status;
  }
}

/** The sandbox's VM or supervisor died; the handle can no longer be used. */
export class SandboxCrashedError extends MsbError {
  /** The sandbox's name. */
  readonly sandbox: string;
  constructor(name: string, reason: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_SANDBOX_CRASHED", `sandbox ${JSON.stringify(name)} crashed: ${reason}`, {
      hint: "its guest console log is in the sandbox's directory; remove it with Sandbox.remove()",
      ...options,
    });
    this.sandbox = name;
  }
}

/** A command ran past its `timeoutMs` and was killed. */
export class ExecTimeoutError extends MsbError {
  /** The limit that expired. */
  readonly timeoutMs: number;
  /** What the command wrote before it was killed. */
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  constructor(
    timeoutMs: number,
    output: { stdout: Buffer; stderr: Buffer } = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
    options: MsbErrorOptions = {},
  ) {
    super("MSB_ERR_EXEC_TIMEOUT", `command timed out after ${timeoutMs} ms and was killed`, {
      hint: "raise timeoutMs, or check why the command hangs",
      ...options,
    });
    this.timeoutMs = timeoutMs;
    this.stdout = output.stdout;
    this.stderr = output.stderr;
  }
}

/** The sandbox network could not be set up or failed (the link socket, an upstream resolver setting). */
export class NetworkError extends MsbError {
  constructor(message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_NETWORK", message, options);
  }
}

/** A published host port is already in use (or cannot be bound). `port` and `protocol` name it. */
export class PortInUseError extends MsbError {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  constructor(address: string, port: number, protocol: "tcp" | "udp", options: MsbErrorOptions = {}) {
    super("MSB_ERR_PORT_IN_USE", `cannot publish ${protocol} port ${address}:${port}: already in use`, {
      hint: "choose another host port in `ports`, or stop what is listening on it",
      ...options,
    });
    this.port = port;
    this.protocol = protocol;
  }
}

/**
 * The sandbox's agent or supervisor does not support a feature (it runs an older guest runtime or supervisor than
 * this SDK). `feature` names it as a dotted path, e.g. `"exec.tty"`.
 */
export class UnsupportedError extends MsbError {
  /** The unsupported feature (`"exec.tty"`, ...). */
  readonly feature: string;
  /** `reason` replaces the default message (a peer without the feature), e.g. for what a release lacks. */
  constructor(feature: string, options: MsbErrorOptions & { reason?: string } = {}) {
    const { reason, ...rest } = options;
    super(
      "MSB_ERR_NOT_SUPPORTED",
      reason ?? `the sandbox's agent or supervisor does not support ${feature}`,
      {
        hint: "rebuild the guest runtime (`npx msb setup`) or upgrade microsandbox, then recreate the sandbox",
        ...rest,
      },
    );
    this.feature = feature;
  }
}

/** Too many streams (execs, file transfers...) are open at once on one sandbox. `limit` is the maximum. */
export class StreamLimitError extends MsbError {
  /** How many concurrent streams the sandbox allows. */
  readonly limit: number;
  constructor(limit: number, options: MsbErrorOptions = {}) {
    super("MSB_ERR_STREAM_LIMIT", `too many concurrent streams on this sandbox (the limit is ${limit})`, {
      hint: "wait for some of them to finish (or close them) and retry",
      ...options,
    });
    this.limit = limit;
  }
}

/**
 * A file operation in the guest failed. `errno` is the guest's errno name (`ENOENT`, `EISDIR`, `ENOTDIR`,
 * `EACCES`, `ENOSPC`, `EEXIST`...), `path` the path it failed on.
 */
export class FsError extends MsbError {
  /** The guest's errno name, e.g. `ENOENT`. */
  readonly errno: string;
  /** The path the operation failed on. */
  readonly path: string;
  constructor(errno: string, path: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_FS", `${errno}: ${message}`, options);
    this.errno = errno;
    this.path = path;
  }
}

/** No named volume has this name. */
export class VolumeNotFoundError extends MsbError {
  /** The name looked up. */
  readonly volume: string;
  constructor(name: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_VOLUME_NOT_FOUND", `no volume named ${JSON.stringify(name)}`, {
      hint: "`msb volume ls` lists the volumes; create it with Volume.create() or `msb volume create`",
      ...options,
    });
    this.volume = name;
  }
}

/** A named volume with this name already exists (or another process is creating it). */
export class VolumeAlreadyExistsError extends MsbError {
  /** The name that is taken. */
  readonly volume: string;
  constructor(name: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_VOLUME_EXISTS", `a volume named ${JSON.stringify(name)} already exists`, {
      hint: "pick another name, or remove it first (`msb volume rm`)",
      ...options,
    });
    this.volume = name;
  }
}

/**
 * A volume cannot be used or removed because sandboxes hold it: `holders` names them. Removing is refused while
 * any sandbox (running or stopped) references the volume; a disk volume has one writer at a time.
 */
export class VolumeInUseError extends MsbError {
  /** The volume's name. */
  readonly volume: string;
  /** The sandboxes holding it. */
  readonly holders: readonly string[];
  constructor(name: string, holders: readonly string[], reason: string, options: MsbErrorOptions = {}) {
    super(
      "MSB_ERR_VOLUME_IN_USE",
      `volume ${JSON.stringify(name)} ${reason}: ${holders.map((h) => JSON.stringify(h)).join(", ")}`,
      { hint: "remove those sandboxes first (`msb rm`), or stop the one writing to it", ...options },
    );
    this.volume = name;
    this.holders = holders;
  }
}

/**
 * A rootfs patch could not be applied (at create, which then leaves nothing): `index`, `kind` and `path` name it;
 * the cause is in the message.
 */
export class PatchFailedError extends MsbError {
  /** Position of the patch in `patches`. */
  readonly index: number;
  /** The patch's kind (`text`, `copyDir`, ...). */
  readonly kind: string;
  /** The guest path the patch writes (`path`, `dst` or `link`). */
  readonly path: string;
  constructor(index: number, kind: string, path: string, cause: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_PATCH_FAILED", `patches[${index}] (${kind} ${path}) failed: ${cause}`, {
      hint: "fix the patch it names (replace: true overwrites an existing path)",
      ...options,
    });
    this.index = index;
    this.kind = kind;
    this.path = path;
  }
}

/** An operation needs a privilege this process lacks; `privilege` names it (`root (CAP_SYS_ADMIN) ...`). */
export class PrivilegeRequiredError extends MsbError {
  /** The privilege that is missing, and what needs it. */
  readonly privilege: string;
  constructor(privilege: string, message: string, options: MsbErrorOptions = {}) {
    super("MSB_ERR_PRIVILEGE_REQUIRED", `${message}: needs ${privilege}`, {
      hint: "run as root, or do without the feature that needs it",
      ...options,
    });
    this.privilege = privilege;
  }
}
