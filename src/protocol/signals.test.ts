import { describe, expect, it } from "vitest";
import { guestSignalNumber } from "./signals.js";

describe("guestSignalNumber", () => {
  it("reads names with or without SIG, in any case, and numbers", () => {
    expect(guestSignalNumber("SIGTERM")).toBe(15);
    expect(guestSignalNumber("term")).toBe(15);
    expect(guestSignalNumber("SIGUSR1")).toBe(10);
    expect(guestSignalNumber("SIGQUIT")).toBe(3);
    expect(guestSignalNumber(9)).toBe(9);
    expect(guestSignalNumber("2")).toBe(2);
    expect(guestSignalNumber("SIGRTMIN+3")).toBe(37);
  });

  it("refuses what is not a guest signal", () => {
    for (const bad of ["SIGNOPE", "", 0, 65, 1.5, "SIGRTMIN+40", null, {}]) {
      expect(guestSignalNumber(bad)).toBeUndefined();
    }
  });
});
