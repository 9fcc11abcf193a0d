/**
 * Sandbox metrics against a real VM: each figure moves when the guest burns CPU, holds memory, writes to its
 * disk and moves bytes over the network (to and from the host's loopback only, through published ports); a
 * stopped sandbox's metrics are a clear `InvalidStateError`; `msb stats --no-stream --format json`.
 */
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { InvalidStateError, Sandbox, allSandboxMetrics } from "../../src/index.js";
import type { SandboxMetrics } from "../../src/index.js";
import { freePort } from "../fixtures/registry/process.js";
import { fetchGuest } from "../fixtures/guest-http.js";
import { msb } from "../fixtures/msb-cli.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv({}, 600_000);

const MIB = 1024 * 1024;

/** Sends `bytes` to 127.0.0.1:port, retried while the guest listener starts. */
async function sendTo(port: number, bytes: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const sent = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("error", () => {
        resolve(false);
      });
      socket.once("connect", () => {
        socket.end(Buffer.alloc(bytes, 0x61), () => {
          resolve(true);
        });
      });
    });
    if (sent) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(200);
  }
}

/** GETs http://127.0.0.1:port/path as bytes, retried while the guest server starts. */
async function fetchBytes(port: number, path: string): Promise<number> {
  const res = await fetchGuest(port, path, { retryMs: 15_000, tryMs: 10_000 });
  return (await res.arrayBuffer()).byteLength;
}

describe("sandbox metrics", () => {
  it("move with the guest's CPU, memory, disk and network; a stopped sandbox has none", async () => {
    const [web, sink] = [await freePort(), await freePort()];
    const sandbox = await Sandbox.create({
      name: "metrics",
      image: "alpine:latest",
      memoryMib: 512,
      ports: { [String(web)]: 80, [String(sink)]: 81 },
    });
    try {
      await sleep(1200);
      const idle = await sandbox.metrics();
      expect(idle.memoryLimitBytes).toBe(512 * MIB);
      expect(idle.memoryBytes).toBeGreaterThan(0);
      expect(idle.memoryBytes).toBeLessThanOrEqual(idle.memoryLimitBytes);
      expect(idle.memoryHostResidentBytes).toBeGreaterThan(0);
      expect(idle.uptimeMs).toBeGreaterThan(1000);
      expect(Math.abs(idle.timestampMs - Date.now())).toBeLessThan(5000);

      // CPU: a busy loop for 4 s; the sample after 1.5 s covers only busy time.
      await sandbox.shell("timeout 4 sh -c 'while :; do :; done' >/dev/null 2>&1 &");
      await sleep(1500);
      const busy = await sandbox.metrics();
      expect(busy.guestCpuPercent).toBeGreaterThan(60);
      expect(busy.cpuPercent).toBeGreaterThan(Math.max(idle.cpuPercent + 30, 50));
      await sleep(3000);

      // Memory: 128 MiB in a tmpfs cannot be reclaimed, so it counts as used.
      await sandbox.shell("dd if=/dev/zero of=/dev/shm/fill bs=1M count=128 2>/dev/null");
      const full = await sandbox.metrics();
      expect(full.memoryBytes - idle.memoryBytes).toBeGreaterThan(100 * MIB);
      expect(full.memoryHostResidentBytes - idle.memoryHostResidentBytes).toBeGreaterThan(64 * MIB);

      // Disk: 24 MiB written and synced reach the disk image.
      await sandbox.shell("dd if=/dev/urandom of=/root/blob bs=1M count=24 2>/dev/null && sync");
      const written = await sandbox.metrics();
      expect(written.diskWriteBytes - idle.diskWriteBytes).toBeGreaterThanOrEqual(24 * MIB);
      // ...and read back from it once the guest's page cache is dropped (a sandbox restored from a VM template
      // may have read nothing from its disk before).
      await sandbox.shell("echo 3 > /proc/sys/vm/drop_caches && cat /root/blob > /dev/null");
      const read = await sandbox.metrics();
      expect(read.diskReadBytes - written.diskReadBytes).toBeGreaterThanOrEqual(24 * MIB);

      // Network: 2 MiB out of the guest (the host downloads a file), 2 MiB in (the host sends to nc).
      await sandbox.shell(
        "mkdir -p /www && dd if=/dev/zero of=/www/blob bs=1M count=2 2>/dev/null && httpd -p 80 -h /www; " +
          "(nc -l -p 81 > /root/received 2>/dev/null &)",
      );
      expect(await fetchBytes(web, "/blob")).toBe(2 * MIB);
      await sendTo(sink, 2 * MIB);
      await sleep(500);
      const net = await sandbox.metrics();
      expect(net.netTxBytes - idle.netTxBytes).toBeGreaterThan(2 * MIB);
      expect(net.netRxBytes - idle.netRxBytes).toBeGreaterThan(2 * MIB);

      // Every running sandbox, and the CLI's one-shot JSON.
      const all = await allSandboxMetrics();
      expect(Object.keys(all)).toEqual(["metrics"]);
      const cli = await msb("stats", "--no-stream", "--format", "json");
      expect(cli.code, cli.stderr).toBe(0);
      const rows = JSON.parse(cli.stdout) as (SandboxMetrics & { name: string })[];
      expect(rows.map((r) => r.name)).toEqual(["metrics"]);
      expect(rows[0]?.memoryLimitBytes).toBe(512 * MIB);
      const tableOut = await msb("stats", "--no-stream", "metrics");
      expect(tableOut.code, tableOut.stderr).toBe(0);
      expect(tableOut.stdout).toMatch(
        /^NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +UPTIME\n/,
      );
      expect(tableOut.stdout).toMatch(/\nmetrics +\d+\.\d\d% +[\d.]+MiB \/ 512\.0MiB /);
    } finally {
      await sandbox.stopAndWait();
    }

    const stopped = await sandbox.metrics().catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(InvalidStateError);
    const handle = await Sandbox.get("metrics");
    const fromHandle = await handle.metrics().catch((e: unknown) => e);
    expect(fromHandle).toBeInstanceOf(InvalidStateError);
    expect((fromHandle as Error).message).toMatch(/metrics is stopped: only a running sandbox has metrics/);
    expect(await allSandboxMetrics()).toEqual({});
    const cli = await msb("stats", "--no-stream", "--format", "json", "metrics");
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/stopped/);
    await handle.remove();
  });
});
