import { describe, expect, it } from "vitest";
import { FlowDebt } from "./http2-flow.js";

describe("FlowDebt", () => {
  it("takes what substitutions added out of later WINDOW_UPDATEs, per stream and for the connection", () => {
    const debt = new FlowDebt();
    debt.owe(1, 40); // a value 40 bytes longer than its placeholder went out on stream 1
    expect(debt.adjust(0, 30)).toBe(0); // the connection's update is swallowed (frame dropped)
    expect(debt.owed(0)).toBe(10);
    expect(debt.adjust(0, 100)).toBe(90);
    expect(debt.owed(0)).toBe(0);
    expect(debt.adjust(1, 1000)).toBe(960);
    expect(debt.adjust(1, 1000)).toBe(1000);
  });

  it("gives back what dropped padding or shorter values saved, and forgets a finished stream", () => {
    const debt = new FlowDebt();
    debt.owe(3, -11);
    expect(debt.adjust(0, 5)).toBe(16);
    debt.owe(5, 7);
    debt.forget(5);
    expect(debt.owed(5)).toBe(0);
    expect(debt.owed(0)).toBe(7); // the connection still owes it
  });
});
