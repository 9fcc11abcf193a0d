/**
 * Parsing of what SDK clients send the supervisor. Clients run as the same user as the supervisor, but a
 * malformed request must still close only that client, never crash the supervisor: every field is checked.
 */
import type { HostMessage } from "../protocol/messages.js";

/** The client's HELLO (only the version range matters). */
export interface ClientHello {
  readonly minVersion: number;
  readonly maxVersion: number;
}

type Json = Record<string, unknown>;

function object(payload: Uint8Array): Json {
  const value: unknown = JSON.parse(Buffer.from(payload).toString("utf8"));
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error("expected an object");
  return value as Json;
}

function uint(obj: Json, key: string): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`${key} must be an integer >= 0`);
  return v;
}

function stringArray(obj: Json, key: string): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new Error(`${key} must be strings`);
  return v;
}

function stringRecord(obj: Json, key: string): Record<string, string> {
  const v: unknown = obj[key] ?? {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${key} must be an object`);
  const entries = Object.entries(v as Json);
  if (!entries.every(([, s]) => typeof s === "string")) throw new Error(`${key} values must be strings`);
  return Object.fromEntries(entries) as Record<string, string>;
}

function optionalString(obj: Json, key: string): { [k: string]: string } {
  const v = obj[key];
  if (v === undefined) return {};
  if (typeof v !== "string") throw new Error(`${key} must be a string`);
  return { [key]: v };
}

/** Parses a client HELLO. */
export function parseClientHello(payload: Uint8Array): ClientHello {
  const obj = object(payload);
  if (obj["type"] !== "hello") throw new Error("expected a hello");
  return { minVersion: uint(obj, "minVersion"), maxVersion: uint(obj, "maxVersion") };
}

/** Parses a client CONTROL message into the host messages the supervisor relays or handles. */
export function parseClientMessage(payload: Uint8Array): HostMessage {
  const obj = object(payload);
  switch (obj["type"]) {
    case "ping":
      return { type: "ping", id: uint(obj, "id") };
    case "shutdown":
      return { type: "shutdown" };
    case "exec.signal":
      return { type: "exec.signal", signal: uint(obj, "signal") };
    case "exec.start": {
      const stdin = obj["stdin"];
      if (stdin !== "null" && stdin !== "pipe") throw new Error('stdin must be "null" or "pipe"');
      return {
        type: "exec.start",
        argv: stringArray(obj, "argv"),
        env: stringRecord(obj, "env"),
        ...optionalString(obj, "cwd"),
        ...optionalString(obj, "user"),
        timeoutMs: uint(obj, "timeoutMs"),
        stdin,
      };
    }
    default:
      throw new Error(`unsupported request ${JSON.stringify(obj["type"])}`);
  }
}
