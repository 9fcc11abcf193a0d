import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { labelConditions, matchesLabels } from "../sdk/list-filter.js";
import { Store } from "../store/store.js";
import { parseListFilters } from "./filter.js";

describe("parseListFilters", () => {
  it("reads label=k=v and label=k, repeatable", () => {
    expect(parseListFilters([])).toEqual({});
    expect(parseListFilters(["label=tier=web", "label=team"])).toEqual({
      labels: { tier: "web", team: true },
    });
    expect(parseListFilters(["label=url=a=b"])).toEqual({ labels: { url: "a=b" } });
    expect(parseListFilters(["label=empty="])).toEqual({ labels: { empty: "" } });
    expect(parseListFilters(["label=tier=web", "label=tier"])).toEqual({ labels: { tier: "web" } });
    expect(parseListFilters(["label=tier", "label=tier=web"])).toEqual({ labels: { tier: "web" } });
  });

  it.each([["status=running"], ["label"], ["label="], ["label==v"], ["name"]])("refuses %s", (value) => {
    expect(() => parseListFilters([value])).toThrow(InvalidConfigError);
  });

  it("refuses one label filtered on two values", () => {
    expect(() => parseListFilters(["label=a=1", "label=a=2"])).toThrow(/two values/);
  });
});

describe("labelConditions", () => {
  it("validates untyped filters, naming the field", () => {
    expect(labelConditions(undefined)).toEqual([]);
    expect(labelConditions({ labels: { a: "1", b: true } })).toEqual([
      { key: "a", value: "1" },
      { key: "b", value: undefined },
    ]);
    expect(() => labelConditions({ label: {} })).toThrow(/filter\.label/);
    expect(() => labelConditions({ labels: { a: 1 } })).toThrow(/filter\.labels\.a/);
    expect(() => labelConditions("x")).toThrow(InvalidConfigError);
  });

  it("matches in memory as the store does in SQL", () => {
    using store = Store.open({ path: ":memory:" });
    const rows: Record<string, Record<string, string>> = {
      a: { tier: "web", team: "x" },
      b: { tier: "db" },
      c: { "odd.key\"'$": "v" },
      d: {},
    };
    for (const [name, labels] of Object.entries(rows)) {
      store.sandboxes.insert({
        name,
        id: `id-${name}`,
        configJson: "{}",
        image: "alpine",
        imageDigest: undefined,
        labels,
        runDir: `/run/${name}`,
        ownerPid: undefined,
        detached: true,
      });
      store.sandboxes.setStatus(name, "stopped");
    }
    const filters: unknown[] = [
      {},
      { labels: { tier: "web" } },
      { labels: { tier: true } },
      { labels: { tier: true, team: "x" } },
      { labels: { tier: "none" } },
      { labels: { "odd.key\"'$": "v" } },
    ];
    for (const filter of filters) {
      const conditions = labelConditions(filter);
      const sql = store.sandboxes.list(conditions).map((r) => r.name);
      const memory = Object.keys(rows).filter((n) => matchesLabels(rows[n] ?? {}, conditions));
      expect(sql).toEqual(memory);
    }
    expect(store.sandboxes.list(labelConditions({ labels: { tier: true } })).map((r) => r.name)).toEqual([
      "a",
      "b",
    ]);
  });
});
