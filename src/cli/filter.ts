/** `--filter` values of `msb ls`, docker's syntax: `label=KEY=VALUE` or `label=KEY` (any value), repeatable. */
import { InvalidConfigError } from "../errors.js";
import type { SandboxListFilter } from "../sdk/list-filter.js";

/** Parses the `--filter` options into a `Sandbox.list()` filter (all must match). Throws {@link InvalidConfigError}. */
export function parseListFilters(values: readonly string[]): SandboxListFilter {
  const labels: Record<string, string | true> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const kind = eq < 0 ? value : value.slice(0, eq);
    if (kind !== "label" || eq < 0) {
      throw new InvalidConfigError("filter", `unsupported filter ${JSON.stringify(value)}`, {
        hint: "use label=KEY=VALUE or label=KEY",
      });
    }
    const rest = value.slice(eq + 1);
    const sep = rest.indexOf("=");
    const key = sep < 0 ? rest : rest.slice(0, sep);
    const wanted: string | true = sep < 0 ? true : rest.slice(sep + 1);
    if (key === "") throw new InvalidConfigError("filter", `no label key in ${JSON.stringify(value)}`);
    const previous = labels[key];
    if (previous !== undefined && previous !== wanted) {
      if (previous !== true && wanted !== true) {
        throw new InvalidConfigError("filter", `label ${key} is filtered on two values`, {
          hint: "a label has one value: give one of them",
        });
      }
      if (wanted === true) continue; // "present" adds nothing to a value condition
    }
    labels[key] = wanted;
  }
  return Object.keys(labels).length === 0 ? {} : { labels };
}
