/**
 * Strict parsing of host messages, for the supervisor, which receives them from SDK clients. Every field is
 * checked against the operation table and its type; a failure names the field, so the supervisor can answer
 * `EINVAL` on the stream instead of dropping the client.
 */
import { MessageError, checkFields, int, parseObject } from "./messages.js";
import type { ExecStartMessage, HostMessage, TtySize } from "./messages.js";

type Json = Record<string, unknown>;

function stringArray(obj: Json, key: string): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw new MessageError(`${key} must be an array of strings`, key);
  }
  return v;
}

function stringRecord(obj: Json, key: string): Record<string, string> {
  const v: unknown = obj[key] ?? {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new MessageError(`${key} must be an object`, key);
  }
  const entries = Object.entries(v as Json);
  for (const [k, s] of entries) {
    if (typeof s !== "string") throw new MessageError(`${key}.${k} must be a string`, `${key}.${k}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function optionalString(obj: Json, key: string): Record<string, string> {
  const v = obj[key];
  if (v === undefined) return {};
  if (typeof v !== "string") throw new MessageError(`${key} must be a string`, key);
  return { [key]: v };
}

function ttySize(obj: Json): { tty?: TtySize } {
  const v = obj["tty"];
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new MessageError("tty must be an object with rows and cols", "tty");
  }
  const t = v as Json;
  for (const key of Object.keys(t)) {
    if (key !== "rows" && key !== "cols") throw new MessageError(`tty: unknown field ${key}`, `tty.${key}`);
  }
  return { tty: { rows: int(t, "rows", 1, 65535), cols: int(t, "cols", 1, 65535) } };
}

function execStart(obj: Json): ExecStartMessage {
  const stdin = obj["stdin"] ?? "null";
  if (stdin !== "null" && stdin !== "pipe") throw new MessageError('stdin must be "null" or "pipe"', "stdin");
  return {
    type: "exec.start",
    argv: stringArray(obj, "argv"),
    env: stringRecord(obj, "env"),
    ...optionalString(obj, "cwd"),
    ...optionalString(obj, "user"),
    timeoutMs: obj["timeoutMs"] === undefined ? 0 : int(obj, "timeoutMs", 0, Number.MAX_SAFE_INTEGER),
    stdin,
    ...ttySize(obj),
  };
}

function path(obj: Json, key: string): string {
  const v = obj[key];
  if (typeof v !== "string" || !v.startsWith("/") || v.includes("\0") || v.length > 4096) {
    throw new MessageError(`${key} must be an absolute path without NUL, at most 4096 characters`, key);
  }
  return v;
}

function optionalInt(obj: Json, key: string, max: number): Record<string, number> {
  return obj[key] === undefined ? {} : { [key]: int(obj, key, 0, max) };
}

function optionalBool(obj: Json, key: string): Record<string, boolean> {
  const v = obj[key];
  if (v === undefined) return {};
  if (typeof v !== "boolean") throw new MessageError(`${key} must be a boolean`, key);
  return { [key]: v };
}

function fsMessage(type: string, obj: Json): HostMessage {
  const user = optionalString(obj, "user");
  const MS = Number.MAX_SAFE_INTEGER;
  switch (type) {
    case "fs.read":
      return {
        type,
        path: path(obj, "path"),
        ...optionalInt(obj, "offset", MS),
        ...optionalInt(obj, "length", MS),
        ...user,
      };
    case "fs.write":
      return {
        type,
        path: path(obj, "path"),
        ...optionalInt(obj, "mode", 0o7777),
        ...optionalBool(obj, "append"),
        ...user,
      };
    case "fs.mkdir":
      return { type, path: path(obj, "path"), ...optionalInt(obj, "mode", 0o7777), ...user };
    case "fs.remove":
      return { type, path: path(obj, "path"), ...optionalBool(obj, "recursive"), ...user };
    case "fs.list":
    case "fs.stat":
    case "fs.archive.read":
    case "fs.archive.write":
      return { type, path: path(obj, "path"), ...user };
    case "fs.copy":
    case "fs.rename":
      return { type, from: path(obj, "from"), to: path(obj, "to"), ...user };
    default:
      throw new MessageError(`${type} cannot be sent by a client`, "type");
  }
}

/**
 * Parses a host CONTROL message. Throws {@link MessageError} (with `field`) for an unknown type or field, or a
 * value of the wrong type. `init` and `net.configure` are host-internal: clients never send them, so they are
 * refused here as unknown.
 */
export function parseHostMessage(payload: Uint8Array): HostMessage {
  return hostMessageOf(parseObject(payload));
}

/** {@link parseHostMessage} for a payload already parsed as a JSON object. */
export function hostMessageOf(obj: Json): HostMessage {
  const type = checkFields(obj, "host");
  switch (type) {
    case "ping":
      return { type, id: int(obj, "id", 0, Number.MAX_SAFE_INTEGER) };
    case "shutdown":
    case "stream.cancel":
    case "stats":
    case "sup.stats":
    case "sup.metrics":
    case "sup.drain":
    case "sup.detach":
      return { type };
    case "exec.start":
      return execStart(obj);
    case "exec.signal":
      return { type, signal: int(obj, "signal", 1, 64) };
    case "exec.resize":
      return { type, rows: int(obj, "rows", 1, 65535), cols: int(obj, "cols", 1, 65535) };
    default:
      if (type.startsWith("fs.")) return fsMessage(type, obj);
      throw new MessageError(`${type} cannot be sent by a client`, "type");
  }
}

/** A client's HELLO (only the version range matters). */
export interface ClientHello {
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** Parses a client HELLO. */
export function parseClientHello(payload: Uint8Array): ClientHello {
  const obj = parseObject(payload);
  if (obj["type"] !== "hello") throw new MessageError("expected a hello", "type");
  return {
    minVersion: int(obj, "minVersion", 0, 0xffff_ffff),
    maxVersion: int(obj, "maxVersion", 0, 0xffff_ffff),
  };
}
