/**
 * Label conditions as SQL over the `sandboxes.labels` JSON column: one `EXISTS (… json_each …)` per condition,
 * so keys are bound as values (any character is safe) and nothing is parsed in JavaScript for rows that do not
 * match.
 */

/** A label that must be present: with exactly `value`, or with any value when `value` is undefined. */
export interface LabelCondition {
  readonly key: string;
  readonly value: string | undefined;
}

/** A `WHERE` clause (empty when there is no condition) and its parameters. */
export interface LabelQuery {
  readonly where: string;
  readonly params: readonly string[];
}

/** The `WHERE` clause matching rows that satisfy every condition. */
export function labelQuery(conditions: readonly LabelCondition[]): LabelQuery {
  if (conditions.length === 0) return { where: "", params: [] };
  const clauses: string[] = [];
  const params: string[] = [];
  for (const condition of conditions) {
    if (condition.value === undefined) {
      clauses.push("EXISTS (SELECT 1 FROM json_each(sandboxes.labels) WHERE key = ?)");
      params.push(condition.key);
    } else {
      clauses.push("EXISTS (SELECT 1 FROM json_each(sandboxes.labels) WHERE key = ? AND value = ?)");
      params.push(condition.key, condition.value);
    }
  }
  return { where: ` WHERE ${clauses.join(" AND ")}`, params };
}
