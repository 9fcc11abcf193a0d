/**
 * Exec benchmarks, each against a baseline measured in the same run:
 * - the round trip of `exec("/bin/true")` through the SDK and the supervisor (p50/p99 over many execs) against
 *   the guest's own cost of the same fork+exec, timed inside the same guest around `/bin/true`, less the same
 *   timing around nothing;
 * - stdout throughput of a streaming exec through the SDK and the supervisor against the raw agent channel (a
 *   MicroVm's own connection, no supervisor), alternating rounds.
 */
import { rmSync } from "node:fs";
import { Sandbox } from "../dist/index.js";
import { startExec } from "../src/agent-client/exec.js";
import type { ExecChannel } from "../src/agent-client/exec-channel.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import { bootBusyboxVm, vmRunDir } from "../test/fixtures/vm-boot.js";
import type { MicroVm } from "../src/vm/microvm.js";
import type { BenchResult } from "./result.js";
import { median, percentile, throughputMBps } from "./result.js";

const EXECS = 500;
const GUEST_SAMPLES = 300;
const STREAM_BYTES = 256 * 1024 * 1024;
const ROUNDS = 3;
const ROUNDS_RTT = 5;

/**
 * Per-exec cost inside the guest, in ns: each sample of `now; /bin/true; now` less the median of `now; now`, where
 * `now` reads the kernel's monotonic clock from /proc/timer_list with shell builtins only (busybox `date` has
 * no %N, and a `$(...)` would fork).
 */
function guestScript(n: number): string {
  return [
    "now() { { read -r _l1; read -r _l2; read -r _l3; } < /proc/timer_list; set -- $_l3; T=$3; }",
    "i=0",
    `while [ $i -lt ${n} ]; do`,
    "now; a=$T; /bin/true; now; echo w $((T-a))",
    "now; a=$T; now; echo o $((T-a))",
    "i=$((i+1)); done",
  ].join("\n");
}

function guestCosts(output: string): number[] {
  const withExec: number[] = [];
  const without: number[] = [];
  for (const line of output.split("\n")) {
    const [kind, ns] = line.split(" ");
    if (kind === "w") withExec.push(Number(ns) / 1e6);
    if (kind === "o") without.push(Number(ns) / 1e6);
  }
  if (withExec.length === 0 || without.length === 0)
    throw new Error(`guest timing failed: ${output.slice(0, 200)}`);
  const overhead = median(without);
  return withExec.map((ms) => Math.max(0, ms - overhead));
}

/** Reads a channel to its end; returns the stdout bytes seen. */
async function drain(channel: ExecChannel): Promise<number> {
  let bytes = 0;
  for (let event = await channel.next(); event !== null; event = await channel.next()) {
    if (event.eventType === "stdout") bytes += event.data.length;
  }
  return bytes;
}

const timed = (run: () => Promise<number>): Promise<number> => throughputMBps(STREAM_BYTES, run);

/** Runs the exec benchmarks. */
export async function benchExec(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const sandbox = await Sandbox.create({ name: "exec-bench", image: "alpine:latest" });
  const runDir = vmRunDir("bench-exec-raw");
  let raw: MicroVm | undefined;
  try {
    for (let i = 0; i < 50; i++) await sandbox.exec("/bin/true"); // warm the guest's code paths (TCG)
    // Alternating rounds, so a slow phase of this noisy machine weighs on both sides alike.
    const guest: number[] = [];
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS_RTT; round++) {
      const timing = await sandbox.shell(guestScript(GUEST_SAMPLES / ROUNDS_RTT));
      guest.push(...guestCosts(timing.stdout() + timing.stderr()));
      for (let i = 0; i < EXECS / ROUNDS_RTT; i++) {
        const started = performance.now();
        await sandbox.exec("/bin/true");
        samples.push(performance.now() - started);
      }
    }
    // The raw VM boots only now: an idle guest still costs CPU under TCG.
    raw = await bootBusyboxVm(runDir);
    const agent = raw.agent;
    const throughSupervisor: number[] = [];
    const direct: number[] = [];
    const argv = ["dd", "if=/dev/zero", "bs=65536", `count=${STREAM_BYTES / 65536}`]; // busybox head is slow
    for (let round = 0; round < ROUNDS; round++) {
      throughSupervisor.push(
        await timed(async () => {
          let bytes = 0;
          for await (const event of await sandbox.execStream(argv[0] ?? "", argv.slice(1))) {
            if (event.eventType === "stdout") bytes += event.data.length;
          }
          return bytes;
        }),
      );
      direct.push(await timed(() => drain(startExec(agent, { argv }))));
    }
    const ratios = throughSupervisor.map((v, i) => v / (direct[i] ?? Number.NaN));
    return [
      {
        name: "exec.round-trip-p50-vs-guest-fork-exec",
        value: percentile(samples, 50),
        unit: "ms",
        baseline: percentile(guest, 50),
        ratio: percentile(samples, 50) / percentile(guest, 50),
        note: `${EXECS} execs of /bin/true through SDK + supervisor; guest: ${GUEST_SAMPLES} timed fork+exec; ${ROUNDS_RTT} alternating rounds`,
      },
      {
        name: "exec.round-trip-p99-vs-guest-fork-exec",
        value: percentile(samples, 99),
        unit: "ms",
        baseline: percentile(guest, 99),
        ratio: percentile(samples, 99) / percentile(guest, 99),
      },
      {
        name: "exec.stdout-throughput-vs-raw-agent",
        value: median(throughSupervisor),
        unit: "MB/s",
        baseline: median(direct),
        ratio: median(ratios),
        note: `${STREAM_BYTES / (1 << 20)} MiB per round, ${ROUNDS} alternating rounds; ratio: median of per-round ratios (higher is better); home ${env.home}`,
      },
    ];
  } finally {
    await raw?.shutdown();
    rmSync(runDir, { recursive: true, force: true });
    await sandbox.stopAndWait();
  }
}
