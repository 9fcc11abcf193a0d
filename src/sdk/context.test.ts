import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { checkHomeFitsSockets, newSandboxId, sandboxRunDir } from "./context.js";

const homeOf = (bytes: number): string => `/${"h".repeat(bytes - 1)}`;

describe("sandbox run directories", () => {
  it("are named by a fresh 12-hex id", () => {
    expect(newSandboxId()).toMatch(/^[0-9a-f]{12}$/);
    expect(newSandboxId()).not.toBe(newSandboxId());
    expect(sandboxRunDir("/h", "0123456789ab")).toBe("/h/run/0123456789ab");
  });

  it("refuse a home whose sockets would pass 107 bytes, naming MSB_HOME and the longest it may be", () => {
    expect(() => {
      checkHomeFitsSockets(homeOf(77)); // run/<12 hex>/control.sock: 107 bytes
    }).not.toThrow();
    const err = (() => {
      try {
        checkHomeFitsSockets(homeOf(78));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect(err).toMatchObject({
      field: "MSB_HOME",
      hint: "use an MSB_HOME of at most 77 bytes (this one is 78)",
    });
    expect((err as Error).message).toMatch(/\/run\/<id>\/control\.sock would be 108 bytes, more than 107/);
  });
});
