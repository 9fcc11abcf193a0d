import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { identityOf, isRunning, parseProcStat, readProcStat, signalProcess } from "./process-identity.js";

const tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21";

describe("parseProcStat", () => {
  it("reads this process's parent", () => {
    expect(readProcStat(process.pid)?.ppid).toBe(process.ppid);
  });

  it("counts fields from the last parenthesis, whatever the command name holds", () => {
    expect(parseProcStat(`123 (node) ${tail}`)).toEqual({ state: "S", ppid: 1, startTime: 4242 });
    expect(parseProcStat(`123 (a) b) (c d) ${tail}`)).toEqual({ state: "S", ppid: 1, startTime: 4242 });
    expect(parseProcStat(`123 ( ) ${tail.replace(/^S/, "Z")}`)).toEqual({
      state: "Z",
      ppid: 1,
      startTime: 4242,
    });
  });

  it("refuses what is not a stat line", () => {
    expect(parseProcStat("")).toBeUndefined();
    expect(parseProcStat("123 node S 1 2")).toBeUndefined();
    expect(parseProcStat("123 (node) S 1 2 3")).toBeUndefined();
    expect(parseProcStat(`123 (node) ${tail.replace(/^S 1/, "S x")}`)).toBeUndefined();
  });
});

describe("process identity", () => {
  it("proves this process and refuses a reused pid", () => {
    const me = identityOf(process.pid);
    expect(me.startTime).toBe(readProcStat(process.pid)?.startTime);
    expect(isRunning(me)).toBe(true);
    // The same pid with another start time is another process: never signalled.
    const impostor = { pid: process.pid, startTime: (me.startTime ?? 0) + 1 };
    expect(isRunning(impostor)).toBe(false);
    expect(signalProcess(impostor, "SIGKILL")).toBe(false);
  });

  it("stops proving a process once it has exited, and never signals it again", async () => {
    const child = spawn("sleep", ["30"]);
    const identity = identityOf(child.pid ?? 0);
    expect(isRunning(identity)).toBe(true);
    expect(signalProcess(identity, "SIGKILL")).toBe(true);
    await new Promise((resolve) => child.once("exit", resolve));
    expect(isRunning(identity)).toBe(false);
    expect(signalProcess(identity, "SIGKILL")).toBe(false);
  });

  it("does not count a zombie as running", async () => {
    // `sleep 0.1` becomes a zombie: its parent execs a `sleep` that never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0.1 & exec sleep 30"]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const children = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, "utf8").trim();
      const pid = Number(children.split(" ")[0]);
      const stat = readProcStat(pid);
      expect(stat?.state).toBe("Z");
      expect(isRunning({ pid, startTime: stat?.startTime })).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
