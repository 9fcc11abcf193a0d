import { describe, expect, it } from "vitest";
import {
  MAX_LINES,
  parseBlockstats,
  parseDiskstats,
  parseGuestCpu,
  parseMeminfo,
  parseNetDev,
  processCpuTicks,
  processRssBytes,
} from "./proc-metrics.js";

const STAT =
  "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 3 0 99999 1000 200 " +
  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

const MEMINFO = "MemTotal:         496532 kB\nMemFree:          400000 kB\nMemAvailable:     450000 kB\n";

const PROC_STAT = [
  "cpu  100 5 50 1000 20 0 3 0 0 0",
  "cpu0 100 5 50 1000 20 0 3 0 0 0",
  "intr 12345 0 0",
  "ctxt 999",
].join("\n");

const DISKSTATS = [
  " 253       0 vda 120 0 2048 30 40 0 4096 50 0 60 80 0 0 0 0 0 0",
  " 253       1 vda1 100 0 1024 30 40 0 2048 50 0 60 80 0 0 0 0 0 0",
  "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
].join("\n");

const NET_DEV = [
  "Inter-|   Receive                                                |  Transmit",
  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
  "    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0",
  "  eth0:    5000      50    0    0    0     0          0         0     7000      70    0    0    0     0       0          0",
].join("\n");

describe("host /proc of QEMU", () => {
  it("reads utime + stime after the last parenthesis", () => {
    expect(processCpuTicks(STAT)).toBe(1234 + 567);
    expect(processCpuTicks(STAT.replace("(qemu-system-x86)", "(a) b) c)"))).toBe(1234 + 567);
  });

  it("refuses malformed stat lines", () => {
    expect(processCpuTicks("no parenthesis 1 2 3")).toBeUndefined();
    expect(processCpuTicks("1 (x) S 1 2")).toBeUndefined();
    expect(processCpuTicks(STAT.replace(" 1234 ", " -5 "))).toBeUndefined();
    expect(processCpuTicks(STAT.replace(" 1234 ", " 99999999999999999999 "))).toBeUndefined();
    expect(processCpuTicks(STAT + " ".repeat(5000))).toBeUndefined();
  });

  it("reads VmRSS in bytes", () => {
    expect(processRssBytes("Name:\tqemu\nVmRSS:\t  204800 kB\n")).toBe(204800 * 1024);
    expect(processRssBytes("VmRSS:\t  12 MB\n")).toBeUndefined();
    expect(processRssBytes("")).toBeUndefined();
  });
});

describe("guest /proc (hostile)", () => {
  it("meminfo: used is total minus available", () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ totalBytes: 496532 * 1024, usedBytes: (496532 - 450000) * 1024 });
  });

  it("meminfo: missing, malformed or impossible values are refused", () => {
    expect(parseMeminfo("MemTotal: 100 kB\n")).toBeUndefined();
    expect(parseMeminfo("MemTotal: 100 kB\nMemAvailable: 200 kB\n")).toBeUndefined();
    expect(parseMeminfo("MemTotal: 1e9 kB\nMemAvailable: 1 kB\n")).toBeUndefined();
    expect(parseMeminfo("MemTotal: 99999999999999999 kB\nMemAvailable: 1 kB\n")).toBeUndefined();
  });

  it("meminfo: lines past the bound are not read", () => {
    const padded = "Junk: 1 kB\n".repeat(MAX_LINES) + MEMINFO;
    expect(parseMeminfo(padded)).toBeUndefined();
  });

  it("stat: the aggregate cpu line and the cpu count", () => {
    expect(parseGuestCpu(PROC_STAT)).toEqual({ totalTicks: 1178, idleTicks: 1020, cpus: 1 });
  });

  it("stat: short, negative, repeated or missing cpu lines are refused", () => {
    expect(parseGuestCpu("cpu  1 2 3\ncpu0 1 2 3")).toBeUndefined();
    expect(parseGuestCpu(PROC_STAT.replace("cpu  100", "cpu  -100"))).toBeUndefined();
    expect(parseGuestCpu(`${PROC_STAT}\ncpu  1 1 1 1 1 1 1 1`)).toBeUndefined();
    expect(parseGuestCpu("cpu0 1 1 1 1 1 1 1 1")).toBeUndefined();
    expect(parseGuestCpu("")).toBeUndefined();
  });

  it("diskstats: whole virtio disks only, sectors of 512 bytes", () => {
    expect(parseDiskstats(DISKSTATS)).toEqual({ readBytes: 2048 * 512, writeBytes: 4096 * 512 });
    expect(parseDiskstats("")).toEqual({ readBytes: 0, writeBytes: 0 });
  });

  it("diskstats: short lines and bad numbers are refused", () => {
    expect(parseDiskstats(" 253 0 vda 1 2 3")).toBeUndefined();
    expect(parseDiskstats(DISKSTATS.replace("2048", "x"))).toBeUndefined();
  });

  it("net/dev: every interface but loopback", () => {
    expect(parseNetDev(NET_DEV)).toEqual({ rxBytes: 5000, txBytes: 7000 });
  });

  it("net/dev: a missing header, a line without a colon or with the wrong field count is refused", () => {
    expect(parseNetDev(NET_DEV.split("\n").slice(2).join("\n"))).toBeUndefined();
    expect(parseNetDev(`${NET_DEV}\n  eth1 1 2 3`)).toBeUndefined();
    expect(parseNetDev(`${NET_DEV}\n  eth1: 1 2 3`)).toBeUndefined();
    expect(parseNetDev(NET_DEV.replace("5000", "5e3"))).toBeUndefined();
  });
});

describe("QMP block stats", () => {
  it("sums rd_bytes and wr_bytes", () => {
    const reply = [
      { device: "", stats: { rd_bytes: 10, wr_bytes: 20 } },
      { device: "", stats: { rd_bytes: 1, wr_bytes: 2 } },
    ];
    expect(parseBlockstats(reply)).toEqual({ readBytes: 11, writeBytes: 22 });
  });

  it("refuses anything else", () => {
    expect(parseBlockstats({})).toBeUndefined();
    expect(parseBlockstats([{ stats: { rd_bytes: -1, wr_bytes: 0 } }])).toBeUndefined();
    expect(parseBlockstats([{ stats: { rd_bytes: "1", wr_bytes: 0 } }])).toBeUndefined();
    expect(parseBlockstats([null])).toBeUndefined();
    expect(parseBlockstats(new Array(65).fill({ stats: { rd_bytes: 0, wr_bytes: 0 } }))).toBeUndefined();
  });
});
