/**
 * The filter of `Sandbox.list()`: labels that must all match. A label's value is a string (that exact value) or
 * `true` (the label is present, with any value), as `msb ls --filter label=k=v` and `--filter label=k`.
 */
import { InvalidConfigError } from "../errors.js";
import type { LabelCondition } from "../store/label-query.js";

export type { LabelCondition } from "../store/label-query.js";

/** Options of `Sandbox.list()`. */
export interface SandboxListFilter {
  /** Every entry must match: `{ tier: "web" }` (that value), `{ tier: true }` (any value). */
  readonly labels?: Readonly<Record<string, string | true>>;
}

/** Checks a filter from user code (untyped JS included) and turns it into conditions. Throws {@link InvalidConfigError}. */
export function labelConditions(filter: unknown): LabelCondition[] {
  if (filter === undefined) return [];
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw new InvalidConfigError("filter", "must be an object such as { labels: { key: 'value' } }");
  }
  for (const key of Object.keys(filter)) {
    if (key !== "labels") throw new InvalidConfigError(`filter.${key}`, "is not a list filter (use labels)");
  }
  const labels = (filter as { labels?: unknown }).labels;
  if (labels === undefined) return [];
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new InvalidConfigError("filter.labels", "must be an object of label values");
  }
  return Object.entries(labels as Record<string, unknown>).map(([key, value]) => {
    if (typeof value !== "string" && value !== true) {
      throw new InvalidConfigError(`filter.labels.${key}`, "must be a string, or true for any value");
    }
    return { key, value: value === true ? undefined : value };
  });
}

/** True when `labels` satisfies every condition (the in-memory form of the store's query). */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  conditions: readonly LabelCondition[],
): boolean {
  return conditions.every(
    (c) => Object.hasOwn(labels, c.key) && (c.value === undefined || labels[c.key] === c.value),
  );
}
