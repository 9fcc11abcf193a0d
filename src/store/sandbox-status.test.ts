import { describe, expect, it } from "vitest";
import { SANDBOX_STATUSES, canTransition, isLive } from "./sandbox-status.js";

describe("sandbox status machine", () => {
  it("restarts only from stopped or crashed", () => {
    const from = SANDBOX_STATUSES.filter((s) => canTransition(s, "starting") && s !== "starting");
    expect(from).toEqual(["stopped", "crashed"]);
  });

  it("never leaves a final state except by starting", () => {
    for (const final of ["stopped", "crashed"] as const) {
      const next = SANDBOX_STATUSES.filter((s) => s !== final && canTransition(final, s));
      expect(next).toEqual(["starting"]);
    }
  });

  it("can crash from every live state and stop from every live state", () => {
    for (const s of SANDBOX_STATUSES.filter(isLive)) {
      expect(canTransition(s, "crashed")).toBe(true);
      expect(canTransition(s, "stopped")).toBe(true);
    }
  });

  it("drains only a running sandbox", () => {
    expect(SANDBOX_STATUSES.filter((s) => s !== "draining" && canTransition(s, "draining"))).toEqual([
      "running",
    ]);
  });
});
