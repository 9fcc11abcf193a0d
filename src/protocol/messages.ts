/**
 * Control messages (the JSON payloads of HELLO and CONTROL frames). Host-to-guest messages are typed for
 * construction; guest-to-host messages are parsed from untrusted JSON by {@link parseAgentMessage}, which
 * checks every field it returns.
 */
import { MESSAGES } from "./operations.js";

/** The host's HELLO. */
export interface HostHello {
  readonly type: "hello";
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Host wall clock, so the guest can set its own. */
  readonly timeMs: number;
}

/** The agent's HELLO answer. `version` is 0 when the ranges do not overlap. */
export interface AgentHello {
  readonly type: "hello";
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly version: number;
  readonly agentVersion: string;
  readonly features: readonly string[];
  readonly uptimeMs: number;
}

/** How the agent finds and mounts the root disk. */
export interface RootSpec {
  /** virtio-blk serial of the disk (`-device virtio-blk-...,serial=`). */
  readonly serial: string;
  readonly fstype: "ext4";
  readonly readonly: boolean;
}

/**
 * One mount `init` makes after the root switch, in order (the wire form of `GuestMount` in
 * `src/storage/mount-plan.ts`). Sent only to an agent listing the `mounts` feature.
 */
export type InitMount =
  | { readonly kind: "virtiofs"; readonly target: string; readonly tag: string; readonly readonly: boolean }
  | { readonly kind: "disk"; readonly target: string; readonly serial: string; readonly readonly: boolean }
  | {
      readonly kind: "tmpfs";
      readonly target: string;
      readonly sizeMib?: number;
      readonly readonly: boolean;
    };

/** The `init` operation: hostname, root disk (absent: the initramfs stays root) and mounts. */
export interface InitMessage {
  readonly type: "init";
  readonly hostname: string;
  readonly root?: RootSpec;
  readonly mounts?: readonly InitMount[];
}

/** The guest side of the virtual link, as `net.configure` sets it up. */
export interface NetInterfaceSpec {
  /** MAC address of the NIC to configure (QEMU's `-device virtio-net-device,mac=`). */
  readonly mac: string;
  /** The guest's IPv4 address. */
  readonly address: string;
  /** Prefix length of the link's subnet (1..30). */
  readonly prefixLength: number;
  /** Default gateway (another address of the subnet). */
  readonly gateway: string;
  /** Link MTU (576..65535). */
  readonly mtu: number;
}

/**
 * The `net.configure` operation: loopback, the NIC (absent: no NIC, loopback only), resolv.conf and hosts. The
 * agent answers `init.done` (the completion of every set-up operation) or `error`.
 */
export interface NetConfigureMessage {
  readonly type: "net.configure";
  readonly interface?: NetInterfaceSpec;
  /** Contents of the file bind-mounted over `/etc/resolv.conf` (at most 64 KiB). */
  readonly resolvConf: string;
  /** Contents of the file bind-mounted over `/etc/hosts` (at most 64 KiB). */
  readonly hosts: string;
}

/**
 * `template.resume`: makes a VM restored from a template its own: its hostname, and fresh entropy (base64, 32 to
 * 512 bytes) the agent credits to the kernel's pool before reseeding the CRNG; with `resolvConf` and `hosts`
 * (both or neither), the contents of the files the template's own `net.configure` installed (its loopback and
 * NIC are then the VM's: no `net.configure` follows). Answered by `init.done`.
 */
export interface TemplateResumeMessage {
  readonly type: "template.resume";
  readonly hostname: string;
  readonly entropy: string;
  readonly resolvConf?: string;
  readonly hosts?: string;
}

/** Input of an exec: the guest reads /dev/null, or the host sends STDIN frames. */
export type ExecStdinMode = "null" | "pipe";

/** Window size of an exec's pseudo-terminal. */
export interface TtySize {
  readonly rows: number;
  readonly cols: number;
}

/** The `exec.start` operation. */
export interface ExecStartMessage {
  readonly type: "exec.start";
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly user?: string;
  readonly timeoutMs: number;
  readonly stdin: ExecStdinMode;
  /** Run on a pseudo-terminal of this size (feature `exec.tty`). */
  readonly tty?: TtySize;
}

/** The file operations (feature `fs`); see PROTOCOL.md. `user` runs them with that user's identity. */
export type FsMessage =
  | {
      readonly type: "fs.read";
      readonly path: string;
      readonly offset?: number;
      readonly length?: number;
      readonly user?: string;
    }
  | {
      readonly type: "fs.write";
      readonly path: string;
      readonly mode?: number;
      readonly append?: boolean;
      readonly user?: string;
    }
  | { readonly type: "fs.list"; readonly path: string; readonly user?: string }
  | { readonly type: "fs.stat"; readonly path: string; readonly user?: string }
  | { readonly type: "fs.mkdir"; readonly path: string; readonly mode?: number; readonly user?: string }
  /** The supervisor's own (not open to clients): syncfs on the filesystem holding `path`. */
  | { readonly type: "fs.sync"; readonly path: string }
  | {
      readonly type: "fs.remove";
      readonly path: string;
      readonly recursive?: boolean;
      readonly user?: string;
    }
  | { readonly type: "fs.copy"; readonly from: string; readonly to: string; readonly user?: string }
  | { readonly type: "fs.rename"; readonly from: string; readonly to: string; readonly user?: string }
  | { readonly type: "fs.archive.read"; readonly path: string; readonly user?: string }
  | { readonly type: "fs.archive.write"; readonly path: string; readonly user?: string };

/** What `fs.stat` reports. */
export interface FsStatResult {
  readonly type: "fs.stat.result";
  readonly kind: "file" | "directory" | "symlink" | "other";
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly readonly: boolean;
  readonly modified: number;
  readonly created?: number;
  readonly target?: string;
}

/** Messages the host sends. */
export type HostMessage =
  | FsMessage
  | { readonly type: "ping"; readonly id: number }
  | { readonly type: "shutdown" }
  | InitMessage
  | ExecStartMessage
  | { readonly type: "exec.signal"; readonly signal: number }
  | { readonly type: "exec.resize"; readonly rows: number; readonly cols: number }
  | { readonly type: "stream.cancel" }
  | { readonly type: "stats" }
  | { readonly type: "sup.stats" }
  | { readonly type: "metrics" }
  | { readonly type: "sup.metrics" }
  | { readonly type: "sup.drain" }
  | { readonly type: "sup.detach" }
  /** Before a template snapshot: the agent stops reading this connection, then answers `init.done`. */
  | { readonly type: "template.park" }
  | TemplateResumeMessage
  | NetConfigureMessage;

/** The `error` reply: `code` is errno-style (`ENOENT`...), `field` names the request field that failed. */
export interface ErrorMessage {
  readonly type: "error";
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** An MsbError raised by the supervisor, as `toWireError` encodes it (validated by its reader). */
  readonly error?: unknown;
}

/** Messages the agent (or the supervisor, to its clients) sends after the HELLO. */
export type AgentMessage =
  | { readonly type: "pong"; readonly id: number }
  | { readonly type: "shutdown.ack" }
  | { readonly type: "init.done" }
  | { readonly type: "exec.started"; readonly pid: number }
  | {
      readonly type: "exec.exited";
      readonly code: number;
      readonly signal: number;
      readonly timedOut: boolean;
    }
  | { readonly type: "stats.result"; readonly streams: number }
  | { readonly type: "fs.done"; readonly bytes: number }
  | FsStatResult
  | {
      readonly type: "sup.stats.result";
      readonly clients: number;
      readonly streams: number;
      readonly agentStreams: number;
    }
  | { readonly type: "sup.ok" }
  | GuestMetricsResult
  | SupMetricsResult
  | ErrorMessage;

/** The agent's `metrics.result`: raw guest `/proc` text, each at most {@link MAX_PROC_TEXT} characters. */
export interface GuestMetricsResult {
  readonly type: "metrics.result";
  readonly stat: string;
  readonly meminfo: string;
  readonly diskstats: string;
  readonly netDev: string;
}

/** The supervisor's `sup.metrics.result` (see PROTOCOL.md for where each figure comes from). */
export interface SupMetricsResult {
  readonly type: "sup.metrics.result";
  /** QEMU's host CPU time over the last interval, in percent of one core (above 100 with several vCPUs busy). */
  readonly cpuPercent: number;
  /** The guest's own view of its CPU use over the same interval, in percent of one core. */
  readonly guestCpuPercent: number;
  /** Memory the guest uses (`MemTotal - MemAvailable`), at most `memoryLimitBytes`. */
  readonly memoryBytes: number;
  /** The sandbox's memory (`memoryMib`). */
  readonly memoryLimitBytes: number;
  /** QEMU's resident memory on the host (guest pages once touched stay resident). */
  readonly memoryHostResidentBytes: number;
  /** Bytes read from the root disk image since boot. */
  readonly diskReadBytes: number;
  /** Bytes written to the root disk image since boot. */
  readonly diskWriteBytes: number;
  /** Bytes the network delivered to the guest since boot (Ethernet frames). */
  readonly netRxBytes: number;
  /** Bytes the guest sent since boot (Ethernet frames). */
  readonly netTxBytes: number;
  /** Milliseconds since the VM started. */
  readonly uptimeMs: number;
  /** When the sample was taken, in ms since the epoch. */
  readonly timestampMs: number;
}

/** Longest `/proc` text a `metrics.result` field may carry (the agent cuts each file there). */
export const MAX_PROC_TEXT = 64 * 1024;

/** Longest string field accepted from the guest (error messages, versions). */
const MAX_GUEST_STRING = 4096;

type Json = Record<string, unknown>;

/** Thrown by the parsers when a peer sent something that is not a valid message; `field` names the culprit. */
export class MessageError extends Error {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.name = "MessageError";
    this.field = field;
  }
}

/** Parses a JSON object payload. */
export function parseObject(payload: Uint8Array): Json {
  let value: unknown;
  try {
    // Decoded in place (a view, not a copy: this runs for every message on every hop).
    const bytes = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    value = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new MessageError(`control payload is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MessageError("control payload is not a JSON object");
  }
  return value as Json;
}

/**
 * Rejects fields the table does not list for `obj.type` (a new field is never silently dropped). Returns the
 * type. Throws for an unknown type, naming it.
 */
export function checkFields(obj: Json, from: "host" | "agent"): string {
  const type = obj["type"];
  const spec = typeof type === "string" ? MESSAGES.get(type) : undefined;
  if (typeof type !== "string" || spec === undefined || spec.from !== from) {
    throw new MessageError(
      `unknown message type ${(JSON.stringify(type) as string | undefined)?.slice(0, 64) ?? "undefined"}`,
      "type",
    );
  }
  for (const key of Object.keys(obj)) {
    if (key !== "type" && !spec.fields.includes(key)) {
      throw new MessageError(`${type}: unknown field ${JSON.stringify(key.slice(0, 64))}`, key);
    }
  }
  return type;
}

/** An integer field in [min, max]. */
export function int(obj: Json, key: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new MessageError(`field ${key} must be an integer in [${min}, ${max}]`, key);
  }
  return v;
}

function str(obj: Json, key: string, max = MAX_GUEST_STRING): string {
  const v = obj[key];
  if (typeof v !== "string" || v.length > max) {
    throw new MessageError(`field ${key} must be a string of at most ${max} characters`, key);
  }
  return v;
}

/** A finite number in [0, max] (percentages are not integers). */
function num(obj: Json, key: string, max: number): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max) {
    throw new MessageError(`field ${key} must be a number in [0, ${max}]`, key);
  }
  return v;
}

function parseSupMetrics(obj: Json): SupMetricsResult {
  const MS = Number.MAX_SAFE_INTEGER;
  return {
    type: "sup.metrics.result",
    cpuPercent: num(obj, "cpuPercent", 1e6),
    guestCpuPercent: num(obj, "guestCpuPercent", 1e6),
    memoryBytes: int(obj, "memoryBytes", 0, MS),
    memoryLimitBytes: int(obj, "memoryLimitBytes", 0, MS),
    memoryHostResidentBytes: int(obj, "memoryHostResidentBytes", 0, MS),
    diskReadBytes: int(obj, "diskReadBytes", 0, MS),
    diskWriteBytes: int(obj, "diskWriteBytes", 0, MS),
    netRxBytes: int(obj, "netRxBytes", 0, MS),
    netTxBytes: int(obj, "netTxBytes", 0, MS),
    uptimeMs: int(obj, "uptimeMs", 0, MS),
    timestampMs: int(obj, "timestampMs", 0, MS),
  };
}

function bool(obj: Json, key: string): boolean {
  const v = obj[key];
  if (typeof v !== "boolean") throw new MessageError(`field ${key} must be a boolean`, key);
  return v;
}

const U32 = 0xffff_ffff;

/** Parses the agent's HELLO payload. */
export function parseAgentHello(payload: Uint8Array): AgentHello {
  const obj = parseObject(payload);
  if (obj["type"] !== "hello") throw new MessageError("expected a hello message");
  const features = obj["features"];
  if (!Array.isArray(features) || features.length > 64 || !features.every((f) => typeof f === "string")) {
    throw new MessageError("field features must be an array of at most 64 strings");
  }
  return {
    type: "hello",
    minVersion: int(obj, "minVersion", 0, U32),
    maxVersion: int(obj, "maxVersion", 0, U32),
    version: int(obj, "version", 0, U32),
    agentVersion: str(obj, "agentVersion"),
    features: features,
    uptimeMs: int(obj, "uptimeMs", 0, Number.MAX_SAFE_INTEGER),
  };
}

const FS_KINDS: readonly FsStatResult["kind"][] = ["file", "directory", "symlink", "other"];

/** Parses an `fs.kind` value (also used for listing lines). */
export function fsKind(obj: Json, key: string): FsStatResult["kind"] {
  const v = obj[key];
  const kind = FS_KINDS.find((k) => k === v);
  if (kind === undefined) throw new MessageError(`field ${key} must be one of ${FS_KINDS.join(", ")}`, key);
  return kind;
}

function parseStatResult(obj: Json): FsStatResult {
  const MS = Number.MAX_SAFE_INTEGER;
  return {
    type: "fs.stat.result",
    kind: fsKind(obj, "kind"),
    size: int(obj, "size", 0, MS),
    mode: int(obj, "mode", 0, 0o7777),
    uid: int(obj, "uid", 0, U32),
    gid: int(obj, "gid", 0, U32),
    readonly: bool(obj, "readonly"),
    modified: int(obj, "modified", -MS, MS),
    ...(obj["created"] === undefined ? {} : { created: int(obj, "created", -MS, MS) }),
    ...(obj["target"] === undefined ? {} : { target: str(obj, "target") }),
  };
}

/** Parses a CONTROL payload from the agent (or supervisor) into a checked {@link AgentMessage}. */
export function parseAgentMessage(payload: Uint8Array): AgentMessage {
  const obj = parseObject(payload);
  const type = checkFields(obj, "agent");
  switch (type) {
    case "pong":
      return { type, id: int(obj, "id", 0, Number.MAX_SAFE_INTEGER) };
    case "shutdown.ack":
    case "init.done":
      return { type };
    case "exec.started":
      return { type, pid: int(obj, "pid", 1, U32) };
    case "exec.exited":
      return {
        type,
        code: int(obj, "code", 0, 255),
        signal: int(obj, "signal", 0, 255),
        timedOut: bool(obj, "timedOut"),
      };
    case "stats.result":
      return { type, streams: int(obj, "streams", 0, U32) };
    case "fs.done":
      return { type, bytes: int(obj, "bytes", 0, Number.MAX_SAFE_INTEGER) };
    case "fs.stat.result":
      return parseStatResult(obj);
    case "sup.stats.result":
      return {
        type,
        clients: int(obj, "clients", 0, U32),
        streams: int(obj, "streams", 0, U32),
        agentStreams: int(obj, "agentStreams", 0, U32),
      };
    case "sup.ok":
      return { type };
    case "metrics.result":
      return {
        type,
        stat: str(obj, "stat", MAX_PROC_TEXT),
        meminfo: str(obj, "meminfo", MAX_PROC_TEXT),
        diskstats: str(obj, "diskstats", MAX_PROC_TEXT),
        netDev: str(obj, "netDev", MAX_PROC_TEXT),
      };
    case "sup.metrics.result":
      return parseSupMetrics(obj);
    case "error":
      return {
        type,
        code: str(obj, "code", 64),
        message: str(obj, "message"),
        ...(obj["field"] === undefined ? {} : { field: str(obj, "field", 256) }),
        ...(obj["error"] === undefined ? {} : { error: obj["error"] }),
      };
    default:
      throw new MessageError(`${type} is not a reply the host handles`, "type");
  }
}

/** Serialises a host message for a CONTROL or HELLO frame. */
export function encodeMessage(message: HostMessage | HostHello): Buffer {
  return Buffer.from(JSON.stringify(message), "utf8");
}

/**
 * The version both sides will speak, or 0 when the ranges do not overlap:
 * `min(maxA, maxB)` if it is at least `max(minA, minB)`.
 */
export function negotiateVersion(a: readonly [number, number], b: readonly [number, number]): number {
  const chosen = Math.min(a[1], b[1]);
  return chosen >= Math.max(a[0], b[0]) ? chosen : 0;
}
