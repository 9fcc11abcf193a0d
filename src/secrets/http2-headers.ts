/**
 * Substitution in one decoded HTTP/2 header list: placeholders in names and values, and inside Basic
 * credentials. A field that changed is sent "never indexed": intermediaries must not keep a value in a table.
 *
 * @packageDocumentation
 */
import { isCredentialHeader, rewriteBasicCredentials } from "./basic-auth.js";
import type { HeaderField } from "./hpack.js";
import type { PlaceholderScanner } from "./scanner.js";
import { renderJoined } from "./substitute.js";
import type { PlaceholderResolver } from "./substitute.js";

/** `fields` with placeholders replaced (or a `BlockSignal` thrown by `resolve`). */
export function rewriteFields(
  fields: readonly HeaderField[],
  scanner: PlaceholderScanner,
  resolve: PlaceholderResolver,
): HeaderField[] {
  return fields.map((field) => {
    const name = scanner.scanAll(field.name);
    const value = scanner.scanAll(field.value);
    const changed = [...name, ...value].some((p) => p.kind === "match");
    if (!changed && isCredentialHeader(field.name.toString("latin1"))) {
      const text = field.value.toString("latin1");
      const basic = rewriteBasicCredentials(text, scanner, resolve);
      if (basic !== text) return { name: field.name, value: Buffer.from(basic, "latin1"), sensitive: true };
    }
    if (!changed) return field;
    return { name: renderJoined(name, resolve), value: renderJoined(value, resolve), sensitive: true };
  });
}
