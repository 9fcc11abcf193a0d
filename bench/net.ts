/**
 * Network throughput: the same busybox guest downloads 100 MB from the public test host (a network namespace at
 * 45.33.0.80, see test/fixtures/netns/hosts.ts) through our stack and through QEMU's own `-netdev user` (slirp),
 * alternating in one run. Reports MB/s (ratio ours/slirp, higher is better) and host CPU seconds per GB (ours:
 * QEMU + this process, which runs the stack; slirp: QEMU, which runs slirp; lower is better), plus our
 * throughput at several MTUs (the measurement behind DEFAULT_MTU).
 *
 * Slirp runs through a wrapper "QEMU binary" that swaps `-netdev stream,...` for `-netdev user,id=net0`; slirp
 * uses the same addressing plan (10.0.2.15/24 via 10.0.2.2) and its own MTU of 1500.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readEnv } from "../src/config/env.js";
import { msbPaths } from "../src/config/paths.js";
import { DEFAULT_LINK, netConfigureFor } from "../src/net/stack/addresses.js";
import { NetworkStack } from "../src/net/stack/network-stack.js";
import { runtimeArtifacts } from "../src/setup/index.js";
import type { MicroVm } from "../src/vm/microvm.js";
import { createTestHosts } from "../test/fixtures/netns/hosts.js";
import { bootBusyboxVm } from "../test/fixtures/vm-boot.js";
import { type BenchResult, median, pairedRatio } from "./result.js";

const SIZE = 100 * 1024 * 1024;
const ROUNDS = 3;
const URL_100M = `http://45.33.0.80/blob?size=${SIZE}`;

interface Backend {
  readonly name: string;
  readonly vm: MicroVm;
  /** CPU seconds of the host processes doing the networking, so far. */
  cpu(): number;
  close(): Promise<void>;
}

function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ 100
}

function selfCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function ours(dir: string, mtu: number): Promise<Backend> {
  mkdirSync(dir, { recursive: true });
  const net = await NetworkStack.start({ socketPath: join(dir, "net.sock"), link: { mtu }, dnsServers: [] });
  const vm = await bootBusyboxVm(dir, { network: { nic: net.nic, configure: net.guestConfig } });
  return {
    name: `ours-mtu${mtu}`,
    vm,
    cpu: () => processCpuSeconds(vm.pid) + selfCpuSeconds(),
    close: async () => {
      await vm.shutdown();
      net.close();
    },
  };
}

async function slirp(dir: string): Promise<Backend> {
  mkdirSync(dir, { recursive: true });
  const home = readEnv().home;
  const artifacts = runtimeArtifacts({ home });
  const real = execFileSync("sh", ["-c", `command -v ${artifacts.qemuBinary}`], { encoding: "utf8" }).trim();
  const wrapper = join(dir, "qemu-slirp");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nfor a do shift; case "$a" in stream,id=net0,*) set -- "$@" "user,id=net0";; *) set -- "$@" "$a";; esac; done\nexec ${real} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const link = { ...DEFAULT_LINK, mtu: 1500 };
  const vm = await bootBusyboxVm(dir, {
    artifacts: { ...artifacts, qemuBinary: wrapper },
    network: {
      nic: { socketPath: join(dir, "unused.sock"), mac: link.guestMac },
      configure: netConfigureFor(link, "bench"),
    },
  });
  return {
    name: "slirp",
    vm,
    cpu: () => processCpuSeconds(vm.pid),
    close: async () => {
      await vm.shutdown();
    },
  };
}

async function download(backend: Backend): Promise<{ seconds: number; cpu: number }> {
  const cpu0 = backend.cpu();
  const t0 = performance.now();
  const out = await backend.vm.exec({
    argv: ["sh", "-c", `wget -q -O /dev/null '${URL_100M}'`],
    timeoutMs: 300_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (out.code !== 0) throw new Error(`${backend.name}: download failed: ${out.stderr.toString()}`);
  return { seconds, cpu: backend.cpu() - cpu0 };
}

/** MTUs compared by the sweep, and its rounds. */
const MTU_SWEEP = [1500, 9000, 65520] as const;
const ROUNDS_MTU = 3;

/** The `net` benchmark suite. */
export async function benchNet(): Promise<BenchResult[]> {
  const hosts = await createTestHosts();
  const root = join(msbPaths(readEnv().home).tmpDir, `bench-net-${Date.now().toString(36)}`);
  const backends: Backend[] = [];
  try {
    const mine = await ours(join(root, "ours"), DEFAULT_LINK.mtu);
    backends.push(mine);
    const theirs = await slirp(join(root, "slirp"));
    backends.push(theirs);
    const runs = {
      ours: [] as { seconds: number; cpu: number }[],
      slirp: [] as { seconds: number; cpu: number }[],
    };
    // One untimed download each first: the first one pays for JIT warm-up and the guest's first page faults.
    await download(mine);
    await download(theirs);
    for (let i = 0; i < ROUNDS; i++) {
      runs.ours.push(await download(mine));
      runs.slirp.push(await download(theirs));
    }
    const mbps = (r: { seconds: number }) => SIZE / 1e6 / r.seconds;
    const cpuPerGb = (r: { cpu: number }) => (r.cpu * 1e9) / SIZE;
    const oursMbps = median(runs.ours.map(mbps));
    const slirpMbps = median(runs.slirp.map(mbps));
    const oursCpu = median(runs.ours.map(cpuPerGb));
    const slirpCpu = median(runs.slirp.map(cpuPerGb));
    const results: BenchResult[] = [
      {
        name: "net.download-100MB-vs-slirp",
        value: oursMbps,
        unit: "MB/s",
        baseline: slirpMbps,
        ratio: pairedRatio(runs.ours.map(mbps), runs.slirp.map(mbps)),
        note: `higher is better; 1 warm-up + ${ROUNDS} alternating rounds, medians; ratio: median of per-round ratios`,
      },
      {
        name: "net.cpu-per-GB-vs-slirp",
        value: oursCpu,
        unit: "CPU s/GB",
        baseline: slirpCpu,
        ratio: pairedRatio(runs.ours.map(cpuPerGb), runs.slirp.map(cpuPerGb)),
        note: "host CPU: QEMU + stack (ours), QEMU (slirp)",
      },
    ];
    // The MTU sweep behind DEFAULT_LINK.mtu: one VM per MTU, downloads alternating between them, medians. The
    // first two VMs go first: an idle TCG guest still costs CPU.
    for (const b of backends.splice(0)) await b.close();
    const variants: Backend[] = [];
    for (const mtu of MTU_SWEEP) {
      const variant = await ours(join(root, `mtu${mtu}`), mtu);
      backends.push(variant);
      variants.push(variant);
    }
    for (const variant of variants) await download(variant);
    const sweep = variants.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS_MTU; round++) {
      for (const [i, variant] of variants.entries()) sweep[i]?.push(mbps(await download(variant)));
    }
    MTU_SWEEP.forEach((mtu, i) => {
      results.push({
        name: `net.download-100MB-mtu${mtu}`,
        value: median(sweep[i] ?? []),
        unit: "MB/s",
        note: `ours; 1 warm-up + ${ROUNDS_MTU} alternating rounds, median${mtu === DEFAULT_LINK.mtu ? "; the default" : ""}`,
      });
    });
    return results;
  } finally {
    for (const b of backends) await b.close();
    hosts.close();
    rmSync(root, { recursive: true, force: true });
  }
}
