import { spawnSync } from "node:child_process";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { identityOf } from "./process-identity.js";
import { scratchAbandoned, scratchOwner, scratchPath } from "./scratch-name.js";

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("scratch names", () => {
  it("name this process with its start time", () => {
    const self = identityOf(process.pid);
    const name = basename(scratchPath("/x", "blob-abc"));
    expect(name).toMatch(new RegExp(`^blob-abc\\.${self.pid}-${self.startTime}\\.[0-9a-f]{12}\\.tmp$`));
    expect(scratchOwner(name)).toEqual(self);
    expect(scratchAbandoned(name)).toBe(false);
  });

  it("read the older pid-only format and refuse other names", () => {
    expect(scratchOwner("rootfs-1.42.0123456789ab.tmp")).toEqual({ pid: 42, startTime: undefined });
    expect(scratchOwner("msb-staging-abc.7-99.0123456789ab.tmp")).toEqual({ pid: 7, startTime: 99 });
    for (const name of ["notes.txt", "a.42.xyz.tmp", "a.0.0123456789ab.tmp", "a.42.0123456789ab"]) {
      expect(scratchOwner(name)).toBeUndefined();
      expect(scratchAbandoned(name)).toBe(false);
    }
  });

  it("count a dead owner, or a live pid with another start time, as gone", () => {
    const self = identityOf(process.pid);
    const dead = deadPid();
    expect(scratchAbandoned(`x.${dead}-1.0123456789ab.tmp`)).toBe(true);
    expect(scratchAbandoned(`x.${dead}.0123456789ab.tmp`)).toBe(true);
    const reused = `x.${self.pid}-${(self.startTime ?? 0) + 1}.0123456789ab.tmp`;
    expect(scratchAbandoned(reused)).toBe(true);
    expect(scratchAbandoned(`x.${self.pid}.0123456789ab.tmp`)).toBe(false); // old format: the pid lives
  });
});
