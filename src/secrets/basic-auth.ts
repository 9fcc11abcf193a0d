/**
 * Placeholders inside HTTP Basic credentials (`Authorization: Basic base64(user:password)`, as `curl -u
 * user:$KEY` sends them): the credentials are decoded, scanned like any other bytes and encoded again. Only a
 * canonical base64 token is touched; anything else stays as it is.
 *
 * @packageDocumentation
 */
import type { PlaceholderScanner } from "./scanner.js";
import { renderJoined } from "./substitute.js";
import type { PlaceholderResolver } from "./substitute.js";

const BASIC = /^(\s*basic\s+)([A-Za-z0-9+/]+={0,2})(\s*)$/i;

/** Whether `name` is a header that carries credentials. */
export function isCredentialHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === "authorization" || lower === "proxy-authorization";
}

/** `value` (a credential header's value) with placeholders inside Basic credentials replaced. */
export function rewriteBasicCredentials(
  value: string,
  scanner: PlaceholderScanner,
  resolve: PlaceholderResolver,
): string {
  const match = BASIC.exec(value);
  const token = match?.[2];
  if (match === null || token === undefined) return value;
  const decoded = Buffer.from(token, "base64");
  if (decoded.toString("base64") !== token) return value;
  const pieces = scanner.scanAll(decoded);
  if (!pieces.some((p) => p.kind === "match")) return value;
  return `${match[1] ?? ""}${renderJoined(pieces, resolve).toString("base64")}${match[3] ?? ""}`;
}
