/**
 * Checks on untrusted JSON (manifests, configs, token responses). They throw {@link ShapeError}, which the caller
 * wraps in its typed error with the context (which reference, which registry).
 */

/** A JSON document does not have the expected shape. Internal: always wrapped before it leaves the image module. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** A JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** Parses JSON bytes, throwing {@link ShapeError} on syntax errors. */
export function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8")) as unknown;
  } catch (error) {
    throw new ShapeError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** `value` as an object (not null, not an array). */
export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ShapeError(`${what} is not an object`);
  return value as JsonObject;
}

/** `value` as an object, or undefined when absent or null. */
export function optionalObject(value: unknown, what: string): JsonObject | undefined {
  return value === undefined || value === null ? undefined : asObject(value, what);
}

/** `value` as a string. */
export function asString(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ShapeError(`${what} is not a string`);
  return value;
}

/** `value` as a string, or undefined when absent or null. */
export function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : asString(value, what);
}

/** `value` as a non-negative safe integer. */
export function asSize(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ShapeError(`${what} is not a non-negative integer`);
  }
  return value;
}

/** `value` as an array (each element checked by `item`), or `[]` when absent or null. */
export function arrayOf<T>(value: unknown, what: string, item: (v: unknown, what: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ShapeError(`${what} is not an array`);
  return value.map((v: unknown, i) => item(v, `${what}[${i}]`));
}

/** `value` as an array of strings, or undefined when absent or null (Docker's "not set", unlike `[]`). */
export function optionalStrings(value: unknown, what: string): string[] | undefined {
  return value === undefined || value === null ? undefined : arrayOf(value, what, asString);
}

/** `value` as a string-to-string map, or `{}` when absent or null. */
export function stringMap(value: unknown, what: string): Record<string, string> {
  const object = optionalObject(value, what) ?? {};
  const result: Record<string, string> = {};
  for (const [key, v] of Object.entries(object)) result[key] = asString(v, `${what}.${key}`);
  return result;
}
