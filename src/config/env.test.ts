import { describe, expect, it } from "vitest";
import { readEnv } from "./env.js";

describe("readEnv", () => {
  it("reads the opt-in switches as 1, true or yes, in any case, and nothing else", () => {
    for (const on of ["1", "true", "YES"]) {
      expect(readEnv({ MSB_GUEST_ASLR: on }).guestAslr).toBe(true);
      expect(readEnv({ MSB_REGISTRY_MIRRORS_ONLY: on }).registryMirrorsOnly).toBe(true);
    }
    for (const off of [undefined, "", "0", "no", "false"]) {
      expect(readEnv({ MSB_GUEST_ASLR: off }).guestAslr).toBe(false);
      expect(readEnv({ MSB_REGISTRY_MIRRORS_ONLY: off }).registryMirrorsOnly).toBe(false);
    }
  });
});
