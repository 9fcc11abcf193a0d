/**
 * Errors that cross a process boundary (supervisor → SDK) keep their class and fields. The sender turns an error
 * into a JSON-safe {@link WireError} with {@link toWireError}; the receiver rebuilds it with
 * {@link fromWireError}, which picks the class by `code` in a registry (never by matching message text) and
 * restores the instance without re-running the constructor, so `message` is identical and `instanceof` holds.
 *
 * @packageDocumentation
 */
import { inspect } from "node:util";
import {
  AgentError,
  CommandNotFoundError,
  ExecTimeoutError,
  ImageDigestError,
  ImageInUseError,
  ImageNotFoundError,
  ImagePullError,
  ImageReferenceError,
  InvalidConfigError,
  InvalidStateError,
  MsbError,
  type MsbErrorCode,
  NetworkError,
  OutputLimitError,
  PacketError,
  PortInUseError,
  ProtocolError,
  RegistryAuthError,
  RootfsBuildError,
  PatchFailedError,
  RuntimeNotInstalledError,
  SandboxCrashedError,
  SandboxExistsError,
  SandboxNotFoundError,
  SandboxStillRunningError,
  SetupError,
  StoreError,
  StreamLimitError,
  FsError,
  PrivilegeRequiredError,
  UnsupportedError,
  VmError,
  VolumeAlreadyExistsError,
  VolumeInUseError,
  VolumeNotFoundError,
} from "./errors.js";

/** A field value on the wire: JSON-safe; a Buffer travels as `{ base64 }`. */
export type WireValue = string | number | boolean | null | readonly string[] | { readonly base64: string };

/** An error as it travels between processes (one JSON value). */
export interface WireError {
  /** The error code (`MSB_ERR_...`); it alone selects the class on the receiving side. */
  readonly code: string;
  /** The sender's class name (`PortInUseError`); informative, used only for codes the receiver does not know. */
  readonly name: string;
  /** The message without the hint that {@link MsbError} appends to it. */
  readonly message: string;
  /** What the user can do about it. */
  readonly hint?: string;
  /** The subclass's own fields (`port`, `protocol`, `stdout`...). */
  readonly fields?: Readonly<Record<string, WireValue>>;
}

/** Bounds a received {@link WireError} must respect; {@link toWireError} clips to them. */
export const WIRE_ERROR_LIMITS = {
  /** Longest message, hint or string field, in UTF-16 code units (16 Ki). */
  text: 16 * 1024,
  /** Longest class name. */
  name: 256,
  /** Longest code. */
  code: 128,
  /** Most fields. */
  fields: 32,
  /** Longest field name. */
  fieldName: 64,
  /** Most items in a string array field. */
  arrayItems: 256,
  /** Largest Buffer field, decoded (64 MiB). */
  bufferBytes: 64 * 1024 * 1024,
} as const;

/** A class of the {@link MsbError} family, as the registry holds it. */
export type MsbErrorClass<E extends MsbError = MsbError> = (abstract new (...args: never[]) => E) & {
  readonly prototype: E;
};

/** How a field of a registered class is checked on arrival. */
type FieldKind = "string" | "string?" | "number" | "protocol" | "strings" | "buffer";

/** The kind a field of type `T` must be declared with. */
type KindOf<T> = [T] extends [Buffer]
  ? "buffer"
  : [T] extends [number]
    ? "number"
    : [T] extends [readonly string[]]
      ? "strings"
      : [T] extends ["tcp" | "udp"]
        ? "protocol"
        : [T] extends [string]
          ? "string"
          : [T] extends [string | undefined]
            ? "string?"
            : never;

/** Every own field of `E` beyond those of {@link MsbError}, each with the kind matching its type. */
type FieldSchema<E extends MsbError> = { readonly [K in Exclude<keyof E, keyof MsbError>]: KindOf<E[K]> };

/** A registry entry: the class and the kinds of its own fields. */
interface Revivable {
  readonly cls: MsbErrorClass;
  readonly fields: Readonly<Record<string, FieldKind>>;
}

/** A registry entry; the compiler checks that `fields` lists every field of the class, with its kind. */
function entry<E extends MsbError>(cls: MsbErrorClass<E>, fields: NoInfer<FieldSchema<E>>): Revivable {
  return { cls, fields };
}

/** Code → class. A code of `MsbErrorCode` without an entry here is a compile error. */
const REGISTRY: { readonly [C in MsbErrorCode]: Revivable } = {
  MSB_ERR_INVALID_CONFIG: entry(InvalidConfigError, { field: "string" }),
  MSB_ERR_RUNTIME_NOT_INSTALLED: entry(RuntimeNotInstalledError, {}),
  MSB_ERR_SETUP_FAILED: entry(SetupError, {}),
  MSB_ERR_VM_START: entry(VmError, { consoleLog: "string?", qemuStderr: "string?" }),
  MSB_ERR_VM_BOOT_TIMEOUT: entry(VmError, { consoleLog: "string?", qemuStderr: "string?" }),
  MSB_ERR_VM_EXITED: entry(VmError, { consoleLog: "string?", qemuStderr: "string?" }),
  MSB_ERR_PROTOCOL: entry(ProtocolError, {}),
  MSB_ERR_PROTOCOL_VERSION: entry(ProtocolError, {}),
  MSB_ERR_AGENT: entry(AgentError, { agentCode: "string" }),
  MSB_ERR_COMMAND_NOT_FOUND: entry(CommandNotFoundError, { command: "string" }),
  MSB_ERR_EXEC_TIMEOUT: entry(ExecTimeoutError, { timeoutMs: "number", stdout: "buffer", stderr: "buffer" }),
  MSB_ERR_OUTPUT_LIMIT: entry(OutputLimitError, {}),
  MSB_ERR_INVALID_STATE: entry(InvalidStateError, {}),
  MSB_ERR_SANDBOX_NOT_FOUND: entry(SandboxNotFoundError, { sandbox: "string" }),
  MSB_ERR_SANDBOX_EXISTS: entry(SandboxExistsError, { sandbox: "string" }),
  MSB_ERR_SANDBOX_CRASHED: entry(SandboxCrashedError, { sandbox: "string" }),
  MSB_ERR_SANDBOX_STILL_RUNNING: entry(SandboxStillRunningError, { sandbox: "string", status: "string" }),
  MSB_ERR_IMAGE_REFERENCE: entry(ImageReferenceError, { reference: "string" }),
  MSB_ERR_IMAGE_NOT_FOUND: entry(ImageNotFoundError, { reference: "string" }),
  MSB_ERR_IMAGE_IN_USE: entry(ImageInUseError, { reference: "string", holders: "strings" }),
  MSB_ERR_IMAGE_PULL: entry(ImagePullError, { reference: "string" }),
  MSB_ERR_IMAGE_DIGEST: entry(ImageDigestError, { expected: "string", actual: "string?" }),
  MSB_ERR_REGISTRY_AUTH: entry(RegistryAuthError, { registry: "string" }),
  MSB_ERR_ROOTFS_BUILD: entry(RootfsBuildError, {}),
  MSB_ERR_STORE: entry(StoreError, {}),
  MSB_ERR_NET_PACKET: entry(PacketError, {}),
  MSB_ERR_NETWORK: entry(NetworkError, {}),
  MSB_ERR_PORT_IN_USE: entry(PortInUseError, { port: "number", protocol: "protocol" }),
  MSB_ERR_NOT_SUPPORTED: entry(UnsupportedError, { feature: "string" }),
  MSB_ERR_STREAM_LIMIT: entry(StreamLimitError, { limit: "number" }),
  MSB_ERR_FS: entry(FsError, { errno: "string", path: "string" }),
  MSB_ERR_VOLUME_NOT_FOUND: entry(VolumeNotFoundError, { volume: "string" }),
  MSB_ERR_VOLUME_EXISTS: entry(VolumeAlreadyExistsError, { volume: "string" }),
  MSB_ERR_VOLUME_IN_USE: entry(VolumeInUseError, { volume: "string", holders: "strings" }),
  MSB_ERR_PATCH_FAILED: entry(PatchFailedError, { index: "number", kind: "string", path: "string" }),
  MSB_ERR_PRIVILEGE_REQUIRED: entry(PrivilegeRequiredError, { privilege: "string" }),
};

/** The registry entry of `code`, or undefined for a code this version does not know. */
function lookup(code: string): Revivable | undefined {
  return Object.hasOwn(REGISTRY, code) ? REGISTRY[code as MsbErrorCode] : undefined;
}

/**
 * The class {@link fromWireError} revives errors of `code` as: its registered class, or {@link MsbError} for a
 * code this version does not know.
 */
export function wireErrorClass(code: string): MsbErrorClass {
  return lookup(code)?.cls ?? MsbError;
}

/** Properties that are never sent or accepted as fields (MsbError's own, Error's, the prototype chain's). */
const RESERVED_FIELDS: ReadonlySet<string> = new Set(["code", "hint", "name", "message", "stack", "cause"]);
const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const CODE = /^MSB_ERR_[A-Z0-9_]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether `key` may be a field name (an identifier, not reserved, not shadowing anything inherited). */
function isFieldName(key: string): boolean {
  return (
    key.length <= WIRE_ERROR_LIMITS.fieldName &&
    FIELD_NAME.test(key) &&
    !RESERVED_FIELDS.has(key) &&
    !(key in Error.prototype)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Sending

/** `text` cut to `max` UTF-16 code units (ending with "…" when cut), never splitting a surrogate pair. */
function clip(text: string, max: number = WIRE_ERROR_LIMITS.text): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** A field value as sent, or undefined when it cannot travel (functions, objects, undefined, NaN...). */
function toWireValue(value: unknown): WireValue | undefined {
  if (typeof value === "string") return clip(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "boolean" || value === null) return value;
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { base64: bytes.subarray(0, WIRE_ERROR_LIMITS.bufferBytes).toString("base64") };
  }
  if (Array.isArray(value) && value.every((item): item is string => typeof item === "string")) {
    return value.slice(0, WIRE_ERROR_LIMITS.arrayItems).map((item) => clip(item));
  }
  return undefined;
}

/** The own enumerable fields of `err` beyond MsbError's, in a form that travels. */
function wireFields(err: MsbError): Record<string, WireValue> {
  const fields: Record<string, WireValue> = {};
  let count = 0;
  for (const [key, value] of Object.entries(err)) {
    if (count === WIRE_ERROR_LIMITS.fields) break;
    if (!isFieldName(key)) continue;
    const wire = toWireValue(value);
    if (wire === undefined) continue;
    fields[key] = wire;
    count += 1;
  }
  return fields;
}

/** The message of `err` without the ` (hint)` suffix that MsbError's constructor appends. */
function bareMessage(err: MsbError): string {
  if (err.hint === undefined) return err.message;
  const suffix = ` (${err.hint})`;
  return err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
}

/** The message sent for an error that is not an MsbError. */
function describeForeign(err: unknown): string {
  if (err instanceof Error) return err.name === "Error" ? err.message : `${err.name}: ${err.message}`;
  return typeof err === "string" ? err : inspect(err, { depth: 2 });
}

/**
 * `err` as a JSON-safe {@link WireError}. For an {@link MsbError}: its code, class name, bare message (without the
 * appended hint), hint, and own fields (Buffers as base64; functions, objects and undefined are left out). Any
 * other value is an unclassified failure of the sender: it is sent under `fallbackCode` (default
 * `MSB_ERR_PROTOCOL`; the caller should pass the code that fits its context, e.g. `MSB_ERR_VM_START` for a boot, and
 * pick one whose class has no required field) with its message prefixed by its name (`TypeError: ...`). Values are
 * clipped to {@link WIRE_ERROR_LIMITS}, so the result is always accepted by {@link fromWireError}. `cause` is not
 * sent.
 */
export function toWireError(err: unknown, fallbackCode: MsbErrorCode = "MSB_ERR_PROTOCOL"): WireError {
  if (!(err instanceof MsbError)) {
    return { code: fallbackCode, name: REGISTRY[fallbackCode].cls.name, message: clip(describeForeign(err)) };
  }
  const fields = wireFields(err);
  return {
    code: err.code,
    name: clip(err.name, WIRE_ERROR_LIMITS.name),
    message: clip(bareMessage(err)),
    ...(err.hint === undefined ? {} : { hint: clip(err.hint) }),
    ...(Object.keys(fields).length === 0 ? {} : { fields }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Receiving

/** A received value does not have the shape of a WireError. Internal: becomes a ProtocolError. */
class MalformedWireError extends Error {}

/** A decoded field value. */
type FieldValue = string | number | boolean | null | string[] | Buffer;

/** A WireError whose shape and bounds were checked. */
interface CheckedWireError {
  readonly code: string;
  readonly name: string;
  readonly message: string;
  readonly hint: string | undefined;
  readonly fields: ReadonlyMap<string, FieldValue>;
}

/** `value` as a plain object (not null, not an array), or a MalformedWireError naming `what`. */
function asRecord(value: unknown, what: string): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new MalformedWireError(`${what} is not an object`);
  return value as Readonly<Record<string, unknown>>;
}

/** `value` as a string of at most `max` UTF-16 code units. */
function asText(value: unknown, what: string, max: number = WIRE_ERROR_LIMITS.text): string {
  if (typeof value !== "string") throw new MalformedWireError(`${what} is not a string`);
  if (value.length > max) throw new MalformedWireError(`${what} is longer than ${max} characters`);
  return value;
}

/** A `{ base64 }` value decoded, checked to be canonical base64 within the size bound. */
function decodeBase64(value: Readonly<Record<string, unknown>>, what: string): Buffer {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== "base64")
    throw new MalformedWireError(`${what} is an object other than { base64 }`);
  const text = value.base64;
  if (typeof text !== "string") throw new MalformedWireError(`${what}.base64 is not a string`);
  const maxChars = Math.ceil(WIRE_ERROR_LIMITS.bufferBytes / 3) * 4;
  if (text.length > maxChars)
    throw new MalformedWireError(`${what} is larger than ${WIRE_ERROR_LIMITS.bufferBytes} bytes`);
  if (text.length % 4 !== 0 || !BASE64.test(text))
    throw new MalformedWireError(`${what} is not valid base64`);
  return Buffer.from(text, "base64");
}

/** A string array of at most {@link WIRE_ERROR_LIMITS.arrayItems} bounded strings. */
function decodeStrings(value: readonly unknown[], what: string): string[] {
  if (value.length > WIRE_ERROR_LIMITS.arrayItems)
    throw new MalformedWireError(`${what} has more than ${WIRE_ERROR_LIMITS.arrayItems} items`);
  return value.map((item, index) => asText(item, `${what}[${index}]`));
}

/** One field value, checked and decoded. */
function decodeValue(value: unknown, what: string): FieldValue {
  if (typeof value === "string") return asText(value, what);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new MalformedWireError(`${what} is not a finite number`);
    return value;
  }
  if (typeof value === "boolean" || value === null) return value;
  if (Array.isArray(value)) return decodeStrings(value, what);
  if (typeof value === "object") return decodeBase64(value as Readonly<Record<string, unknown>>, what);
  throw new MalformedWireError(`${what} is not a JSON value`);
}

/** The `fields` object, checked and decoded. */
function decodeFields(value: unknown): Map<string, FieldValue> {
  const fields = new Map<string, FieldValue>();
  if (value === undefined) return fields;
  const record = asRecord(value, "fields");
  const keys = Object.keys(record);
  if (keys.length > WIRE_ERROR_LIMITS.fields)
    throw new MalformedWireError(`it has more than ${WIRE_ERROR_LIMITS.fields} fields`);
  for (const key of keys) {
    if (!isFieldName(key))
      throw new MalformedWireError(`${JSON.stringify(key.slice(0, 80))} is not a field name`);
    fields.set(key, decodeValue(record[key], `fields.${key}`));
  }
  return fields;
}

/** `value` checked to be a WireError within {@link WIRE_ERROR_LIMITS}. Unknown top-level keys are ignored. */
function checkWireError(value: unknown): CheckedWireError {
  const record = asRecord(value, "the error");
  const code = asText(record.code, "code", WIRE_ERROR_LIMITS.code);
  if (!CODE.test(code)) throw new MalformedWireError(`code ${JSON.stringify(code)} is not an MSB_ERR_ code`);
  return {
    code,
    name: asText(record.name, "name", WIRE_ERROR_LIMITS.name),
    message: asText(record.message, "message"),
    hint: record.hint === undefined ? undefined : asText(record.hint, "hint"),
    fields: decodeFields(record.fields),
  };
}

/** Whether `value` fits `kind`. */
function fitsKind(value: FieldValue | undefined, kind: FieldKind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "string?":
      return value === undefined || typeof value === "string";
    case "number":
      return typeof value === "number";
    case "protocol":
      return value === "tcp" || value === "udp";
    case "strings":
      return Array.isArray(value);
    case "buffer":
      return Buffer.isBuffer(value);
  }
}

/** Checks the fields a registered class declares; the optional ones that are absent are set to undefined. */
function checkSchema(wire: CheckedWireError, revivable: Revivable): Map<string, FieldValue | undefined> {
  const fields = new Map<string, FieldValue | undefined>(wire.fields);
  for (const [key, kind] of Object.entries(revivable.fields)) {
    const value = wire.fields.get(key);
    if (!fitsKind(value, kind))
      throw new MalformedWireError(`field ${key} of ${wire.code} is missing or is not of kind ${kind}`);
    fields.set(key, value);
  }
  return fields;
}

/** Sets an own, enumerable, writable property, as a class field or an assignment in a constructor does. */
function defineField(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An instance of `cls` built without its constructor, so that the message is exactly the sender's. */
function instantiate(
  cls: MsbErrorClass,
  name: string,
  wire: CheckedWireError,
  hint: string | undefined,
  fields: ReadonlyMap<string, FieldValue | undefined>,
): MsbError {
  const error = new Error(hint === undefined ? wire.message : `${wire.message} (${hint})`);
  Object.setPrototypeOf(error, cls.prototype);
  defineField(error, "code", wire.code);
  defineField(error, "hint", hint);
  defineField(error, "name", name);
  for (const [key, value] of fields) defineField(error, key, value);
  Error.captureStackTrace(error, fromWireError);
  // Always true (its prototype was just set); it tells the compiler so without a cast.
  if (!(error instanceof cls)) throw new TypeError(`cannot revive an instance of ${cls.name}`);
  return error;
}

/** Options of {@link fromWireError}. */
export interface FromWireErrorOptions {
  /**
   * Added to the hint (after `; `, or as the hint when there is none), and so to the message, e.g.
   * `see /path/supervisor.log`. The class, code and fields are unchanged.
   */
  readonly extraHint?: string;
}

/**
 * The error a {@link WireError} describes, rebuilt as an instance of the class registered for its code (codes
 * shared by a class, like VmError's three, map to that class): `instanceof` holds, the fields are restored with
 * their types (Buffers decoded), and `message` is the sender's exactly. A code this version does not know (a newer
 * peer) gives a plain {@link MsbError} carrying that code, the sender's class name and all its fields. Bad input
 * does not throw: a value that is not a valid WireError within {@link WIRE_ERROR_LIMITS}, or whose fields do not
 * fit its class, gives a {@link ProtocolError} saying what is wrong.
 */
export function fromWireError(value: unknown, options: FromWireErrorOptions = {}): MsbError {
  try {
    return revive(value, options);
  } catch (err) {
    if (!(err instanceof MalformedWireError)) throw err;
    return new ProtocolError(`malformed error report from the peer process: ${err.message}`);
  }
}

/** {@link fromWireError}, throwing a MalformedWireError on bad input. */
function revive(value: unknown, options: FromWireErrorOptions): MsbError {
  const wire = checkWireError(value);
  const hint = joinHint(wire.hint, options.extraHint);
  const revivable = lookup(wire.code);
  if (revivable === undefined) return instantiate(MsbError, wire.name || "MsbError", wire, hint, wire.fields);
  return instantiate(revivable.cls, revivable.cls.name, wire, hint, checkSchema(wire, revivable));
}

/** `hint` with `extra` appended after `; `. */
function joinHint(hint: string | undefined, extra: string | undefined): string | undefined {
  if (extra === undefined) return hint;
  return hint === undefined ? extra : `${hint}; ${extra}`;
}
