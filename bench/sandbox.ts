/**
 * Sandbox benchmarks: `Sandbox.create()` to the first `shell("true")` result with the image cached, four ways in
 * alternating runs: bare QEMU booting the same kernel to init, a cold create (`MSB_TEMPLATES=0`: the kernel boots),
 * a create restored from the image's VM template, and a create that takes the warm spare VM the previous create of
 * its process left (`src/supervisor/spare-vm.ts`; elsewhere `MSB_SPARE_VM=0`). Then the host memory of idle
 * sandboxes (supervisor + QEMU, `memoryMib: 512`, 60 s after create), cold and restored, with their host CPU
 * against a bare idle QEMU's, then what each of 8 idle restored sandboxes adds to the host's used memory, and 20
 * sandboxes created at once (wall time, peak host memory). The exec round trip is measured by `bench/exec.ts`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
// The built package, as users run it: its supervisor is dist/supervisor.cjs, not the sources through tsx.
import { Sandbox } from "../dist/index.js";
import { msbPaths } from "../src/config/paths.js";
import { isRunning, readProcStat } from "../src/os/process-identity.js";
import { spareSupervisorReady } from "../src/sdk/spare-supervisor.js";
import { runtimeArtifacts } from "../src/setup/index.js";
import { USER_HZ, processCpuTicks } from "../src/supervisor/proc-metrics.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import { waitForWarmSpareVm } from "../test/fixtures/spare-vm-dirs.js";
import { bareArgv, bareBoot, bareInitrd } from "./boot.js";
import { loggedBootPhases, phaseSplit } from "./boot-phases.js";
import type { CreateRun } from "./boot-phases.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 7;
const IDLE_MS = 60_000;
const CROWD = 20;
/** Idle sandboxes whose added host memory is measured together: the marginal cost of one, shared pages once. */
const DENSITY = 8;

/** A process's memory from /proc: resident (all), resident anonymous (its own), proportional share (PSS). */
interface ProcMemory {
  readonly rss: number;
  readonly anon: number;
  readonly pss: number;
}

function procMemoryMib(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, anon: kb("RssAnon") / 1024, pss: pss / 1024 };
}

/** Supervisor + QEMU memory of a running sandbox. */
async function sandboxMemory(name: string): Promise<ProcMemory> {
  const { record } = await Sandbox.get(name);
  const parts = [procMemoryMib(record.supervisorPid ?? 0), procMemoryMib(record.qemuPid ?? 0)];
  return {
    rss: parts.reduce((sum, m) => sum + m.rss, 0),
    anon: parts.reduce((sum, m) => sum + m.anon, 0),
    pss: parts.reduce((sum, m) => sum + m.pss, 0),
  };
}

function hostUsedMib(): number {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(meminfo)?.[1] ?? 0);
  return (kb("MemTotal") - kb("MemAvailable")) / 1024;
}

/** How a create runs: VM templates on, and whether the spare supervisor it leaves warms a VM. */
interface CreateMode {
  readonly templates: boolean;
  readonly spareVm?: boolean;
}

async function withMode<T>(mode: CreateMode, run: () => Promise<T>): Promise<T> {
  const wanted = {
    MSB_TEMPLATES: mode.templates ? "1" : "0",
    MSB_SPARE_VM: mode.spareVm === true ? "1" : "0",
  };
  const saved = Object.fromEntries(Object.keys(wanted).map((key) => [key, process.env[key]]));
  Object.assign(process.env, wanted);
  try {
    return await run();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = value;
    }
  }
}

/**
 * Kills the warm VM of this process's spare supervisor (its QEMU, the spare's child) and waits until it is gone:
 * the spare stays, without a VM, as for any create that does not warm one.
 */
async function retireSpareVm(): Promise<void> {
  const spare = (await spareSupervisorReady())?.pid;
  if (spare === undefined) return;
  const children = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => readProcStat(pid)?.ppid === spare);
  for (const pid of children) process.kill(pid, "SIGKILL");
  const gone = (pid: number): boolean => !isRunning({ pid, startTime: undefined });
  for (let i = 0; i < 100 && !children.every(gone); i++) await sleep(20);
  await sleep(200); // the spare removes the VM's directory
}

/** `Sandbox.create()` to the first `shell("true")` result, with where the time went. */
async function createToFirstShell(home: string, name: string, mode: CreateMode): Promise<CreateRun> {
  return await withMode(mode, async () => {
    const started = performance.now();
    const sandbox = await Sandbox.create({ name, image: "alpine:latest" });
    const createMs = performance.now() - started;
    await sandbox.shell("true");
    const totalMs = performance.now() - started;
    await sandbox.stopAndWait();
    return { totalMs, createMs, ...loggedBootPhases(home, name) };
  });
}

/** Runs the sandbox benchmarks. */
export async function benchSandbox(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const scratch = mkdtempSync(join(tmpdir(), "msb-bench-sb-"));
  const initrd = bareInitrd(scratch);
  const bare: number[] = [];
  const coldRuns: CreateRun[] = [];
  const restoredRuns: CreateRun[] = [];
  const spareRuns: CreateRun[] = [];
  try {
    // Warm-up: pulls the image, builds its root disk and its VM template, which the timed runs then find.
    await createToFirstShell(env.home, "warm", { templates: true });
    for (let i = 0; i < RUNS; i++) {
      bare.push(await bareBoot(scratch, initrd));
      coldRuns.push(await createToFirstShell(env.home, `cold-${i}`, { templates: false }));
      restoredRuns.push(await createToFirstShell(env.home, `tpl-${i}`, { templates: true }));
      // A create whose spare warms a VM, then a create that takes it, as in steady use: its own spare starts
      // warming the next VM as it returns, beside its first shell. That VM is then killed, warm, so the next
      // runs have the host to themselves (and the next create the spare supervisor, as before).
      await createToFirstShell(env.home, `prime-${i}`, { templates: true, spareVm: true });
      // Settle: the shell the spare runs, and a moment idle, as between an agent platform's creates.
      await waitForWarmSpareVm(msbPaths(env.home).runRoot, { settleMs: 1_000 });
      spareRuns.push(await createToFirstShell(env.home, `spare-${i}`, { templates: true, spareVm: true }));
      await waitForWarmSpareVm(msbPaths(env.home).runRoot, { settleMs: 1_000 });
      await retireSpareVm();
    }
    const cold = coldRuns.map((run) => run.totalMs);
    const restored = restoredRuns.map((run) => run.totalMs);
    const spare = spareRuns.map((run) => run.totalMs);
    const idle = await idleMemory(scratch);
    const density = await idleDensity();
    const crowd = await createCrowd();
    const note = `${RUNS} alternating runs, medians; ratio: median of the per-pair ratios; image cached (home ${env.home})`;
    const memNote = (m: ProcMemory): string =>
      `RSS ${m.rss.toFixed(1)} MiB, of it anonymous ${m.anon.toFixed(1)} MiB; PSS ${m.pss.toFixed(1)} MiB`;
    return [
      {
        name: "sandbox.cold-create-to-first-shell-vs-bare-qemu",
        value: median(cold),
        unit: "ms",
        baseline: median(bare),
        ratio: pairedRatio(cold, bare),
        note: `${note}; ${phaseSplit(coldRuns)}`,
      },
      {
        name: "sandbox.template-create-to-first-shell-vs-cold",
        value: median(restored),
        unit: "ms",
        baseline: median(cold),
        ratio: pairedRatio(restored, cold),
        note: `${note}; ${phaseSplit(restoredRuns)}`,
      },
      {
        name: "sandbox.spare-vm-create-to-first-shell-vs-cold",
        value: median(spare),
        unit: "ms",
        baseline: median(cold),
        ratio: pairedRatio(spare, cold),
        note: `the create takes the warm spare VM its process's previous create left (restored from the template, one shell run, 1 s idle), and its own spare warms the next beside its first shell; ${note}; ${phaseSplit(spareRuns)}`,
      },
      {
        name: "sandbox.template-create-to-first-shell-vs-bare-qemu",
        value: median(restored),
        unit: "ms",
        baseline: median(bare),
        ratio: pairedRatio(restored, bare),
      },
      {
        name: "sandbox.idle-host-memory-cold",
        value: idle.cold.rss,
        unit: "MiB",
        note: `supervisor + QEMU, memoryMib 512, ${IDLE_MS / 1000} s after create: ${memNote(idle.cold)}`,
      },
      {
        name: "sandbox.idle-host-memory-template",
        value: idle.restored.pss,
        unit: "MiB PSS",
        baseline: idle.cold.pss,
        ratio: idle.restored.pss / idle.cold.pss,
        note: `${memNote(idle.restored)}; the template's RAM pages are file pages shared by every sandbox restored from it`,
      },
      {
        name: "sandbox.idle-host-cpu-template",
        value: idle.cpu.restored,
        unit: "ms/s",
        baseline: idle.cpu.bare,
        ratio: idle.cpu.restored / idle.cpu.bare,
        note: `supervisor + QEMU CPU time per second of an idle restored sandbox (cold: ${idle.cpu.cold.toFixed(1)} ms/s), over the second half of ${IDLE_MS / 1000} s idle; baseline: bare QEMU, same kernel, its init asleep`,
      },
      {
        name: "sandbox.idle-host-memory-per-sandbox",
        value: density.perSandboxMib,
        unit: "MiB",
        note: `templates on: the host's used memory (MemTotal - MemAvailable) with ${DENSITY} idle sandboxes, ${IDLE_MS / 1000} s after create, minus before, per sandbox: what one more sandbox costs (RSS counts the pages every supervisor and QEMU share, such as node's and QEMU's code and the template's RAM, once per process; the host holds them once). RSS per sandbox here: ${density.rssMib.toFixed(1)} MiB`,
      },
      {
        name: `sandbox.${CROWD}-created-at-once`,
        value: crowd.ms,
        unit: "ms",
        note: `templates on; peak host memory +${crowd.peakMib.toFixed(0)} MiB (${(crowd.peakMib / CROWD).toFixed(1)} MiB per sandbox)`,
      },
    ];
  } finally {
    for (const info of await Sandbox.list())
      await (await Sandbox.get(info.name)).remove().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** CPU time (user + system) a process has used so far, in ms (at the kernel's clock-tick resolution). */
function cpuMs(pid: number): number {
  const ticks = processCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
  if (ticks === undefined) throw new Error(`no CPU times in /proc/${pid}/stat`);
  return (ticks * 1000) / USER_HZ;
}

/** Supervisor + QEMU CPU time of a running sandbox so far, in ms. */
async function sandboxCpuMs(name: string): Promise<number> {
  const { record } = await Sandbox.get(name);
  return cpuMs(record.supervisorPid ?? 0) + cpuMs(record.qemuPid ?? 0);
}

/** Host CPU of idle VMs, in ms per second of the second half of the idle time. */
interface IdleCpu {
  readonly cold: number;
  readonly restored: number;
  /** Bare QEMU, same kernel and memory, its init asleep. */
  readonly bare: number;
}

/**
 * One cold and one restored sandbox, idle for {@link IDLE_MS} side by side, then measured; beside them a bare
 * QEMU whose init sleeps, the baseline of the CPU an idle VM costs (its second half timed).
 */
async function idleMemory(
  scratch: string,
): Promise<{ cold: ProcMemory; restored: ProcMemory; cpu: IdleCpu }> {
  const bareInit = bareInitrd(scratch, "exec /bin/busybox sleep 3600\n", "idle.cpio");
  const bare = spawn(runtimeArtifacts().qemuBinary, bareArgv(scratch, bareInit), { stdio: "ignore" });
  try {
    const cold = await withMode({ templates: false }, () =>
      Sandbox.create({ name: "idle-cold", image: "alpine:latest" }),
    );
    const restored = await withMode({ templates: true }, () =>
      Sandbox.create({ name: "idle-tpl", image: "alpine:latest" }),
    );
    await sleep(IDLE_MS / 2);
    const start = [await sandboxCpuMs("idle-cold"), await sandboxCpuMs("idle-tpl"), cpuMs(bare.pid ?? 0)];
    await sleep(IDLE_MS / 2);
    const end = [await sandboxCpuMs("idle-cold"), await sandboxCpuMs("idle-tpl"), cpuMs(bare.pid ?? 0)];
    const perSecond = (i: number): number => ((end[i] ?? 0) - (start[i] ?? 0)) / (IDLE_MS / 2 / 1000);
    const result = {
      cold: await sandboxMemory("idle-cold"),
      restored: await sandboxMemory("idle-tpl"),
      cpu: { cold: perSecond(0), restored: perSecond(1), bare: perSecond(2) },
    };
    await Promise.all([cold.stopAndWait(), restored.stopAndWait()]);
    return result;
  } finally {
    bare.kill("SIGKILL");
  }
}

/** {@link DENSITY} sandboxes restored from a template, idle for {@link IDLE_MS}: what each adds to the host. */
async function idleDensity(): Promise<{ perSandboxMib: number; rssMib: number }> {
  const before = hostUsedMib();
  const sandboxes: Sandbox[] = [];
  try {
    await withMode({ templates: true }, async () => {
      for (let i = 0; i < DENSITY; i++) {
        const sandbox = await Sandbox.create({ name: `dense-${i}`, image: "alpine:latest" });
        sandboxes.push(sandbox);
        await sandbox.shell("true");
      }
    });
    await sleep(IDLE_MS);
    const after = hostUsedMib();
    let rss = 0;
    for (const sandbox of sandboxes) rss += (await sandboxMemory(sandbox.name)).rss;
    return { perSandboxMib: (after - before) / DENSITY, rssMib: rss / DENSITY };
  } finally {
    await Promise.all(sandboxes.map((s) => s.stopAndWait()));
  }
}

/** {@link CROWD} sandboxes created at once (templates on): wall time until all answered a shell, peak memory. */
async function createCrowd(): Promise<{ ms: number; peakMib: number }> {
  const before = hostUsedMib();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, hostUsedMib());
  }, 100);
  const started = performance.now();
  try {
    const sandboxes = await withMode({ templates: true }, () =>
      Promise.all(
        Array.from({ length: CROWD }, async (_, i) => {
          const sandbox = await Sandbox.create({ name: `crowd-${i}`, image: "alpine:latest" });
          await sandbox.shell("true");
          return sandbox;
        }),
      ),
    );
    const ms = performance.now() - started;
    peak = Math.max(peak, hostUsedMib());
    await Promise.all(sandboxes.map((s) => s.stopAndWait()));
    return { ms, peakMib: peak - before };
  } finally {
    clearInterval(sampler);
  }
}
