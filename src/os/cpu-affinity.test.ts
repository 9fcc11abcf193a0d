import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allowedCpus, leastPinnedCpu, parseCpuList, pinnedCounts } from "./cpu-affinity.js";
import { tempDirs } from "./temp-dirs.fixture.js";

describe("CPU lists", () => {
  it("parses the kernel's ranges and singles", () => {
    expect(parseCpuList("0")).toEqual([0]);
    expect(parseCpuList("0-3,6,8-9\n")).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(parseCpuList("3,1-2")).toEqual([1, 2, 3]);
  });

  it("refuses what is not one", () => {
    for (const bad of ["", "a", "1-", "3-1", "1,,2", "0-99999"]) expect(parseCpuList(bad)).toBeUndefined();
  });

  it("reads Cpus_allowed_list from a status file", () => {
    expect(allowedCpus("Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n")).toEqual([0, 1]);
    expect(allowedCpus("Name:\tnode\n")).toBeUndefined();
  });
});

describe("spreading pinned VMs", () => {
  const tempDir = tempDirs("msb-proc-", { after: "each" });

  function fakeProc(processes: Record<string, { name: string; cpus: string }>): string {
    const dir = tempDir();
    for (const [pid, p] of Object.entries(processes)) {
      mkdirSync(join(dir, pid));
      writeFileSync(join(dir, pid, "status"), `Name:\t${p.name}\nCpus_allowed_list:\t${p.cpus}\n`);
    }
    mkdirSync(join(dir, "77")); // a process that exited between the listing and the read: no status
    mkdirSync(join(dir, "self"));
    return dir;
  }

  it("counts only the named processes pinned to one CPU", () => {
    const proc = fakeProc({
      "10": { name: "qemu-system-x86", cpus: "1" },
      "11": { name: "qemu-system-x86", cpus: "1" },
      "12": { name: "qemu-system-x86", cpus: "0" },
      "13": { name: "qemu-system-x86", cpus: "0-1" }, // not pinned
      "14": { name: "node", cpus: "0" }, // not a VM
    });
    expect(pinnedCounts(["qemu-system-x86"], proc)).toEqual(
      new Map([
        [1, 2],
        [0, 1],
      ]),
    );
    expect(pinnedCounts(["qemu-system-x86"], join(proc, "absent")).size).toBe(0);
  });

  it("chooses the CPU with the fewest, ties spread by the given number", () => {
    const counts = new Map([
      [0, 2],
      [1, 1],
      [2, 1],
      [3, 5],
    ]);
    expect(leastPinnedCpu([0, 1, 2, 3], counts, 0)).toBe(1);
    expect(leastPinnedCpu([0, 1, 2, 3], counts, 1)).toBe(2);
    expect(leastPinnedCpu([0, 3], counts, 7)).toBe(0);
    expect(leastPinnedCpu([5, 6], counts, 3)).toBe(6);
    expect(() => leastPinnedCpu([], counts, 0)).toThrow(RangeError);
  });
});
