/**
 * The crash matrix: SIGKILL of the SDK process, the supervisor or QEMU at a random point of create, exec, stop
 * and start. After each trial: no QEMU or supervisor process of the state directory is left, every row's status
 * is true (nothing claims to run), no run directory (but what the next ImageService removes), sandbox directory or
 * image lease is left without its row, and the next create with the same name works. `MSB_CRASH_TRIALS` sets the
 * number of trials (default 8; the figure is 100), `MSB_CRASH_SEED` replays a sequence.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { Sandbox } from "../../src/index.js";
import { msbPaths } from "../../src/config/paths.js";
import { removeAbandonedOwnedDirs } from "../../src/image/scratch.js";
import { listOwnedDirs } from "../../src/os/owned-dir.js";
import { readProcStat, signalProcess } from "../../src/os/process-identity.js";
import type { ProcessIdentity } from "../../src/os/process-identity.js";
import { isLive } from "../../src/store/sandbox-status.js";
import { repoRoot } from "../fixtures/artifacts.js";
import { spareSupervisorOf, spareSupervisorReady } from "../../src/sdk/spare-supervisor.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
const TRIALS = Number(process.env["MSB_CRASH_TRIALS"] ?? 8);
const SEED = Number(process.env["MSB_CRASH_SEED"] ?? Date.now() % 100_000);
const VICTIMS = ["sdk", "supervisor", "qemu"] as const;
const PHASES = ["create", "exec", "stop", "start", "exec2", "stop2"] as const;

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Pids of QEMU and supervisor processes started for `home` (they carry its MSB_HOME in their environment), but
 * for this process's spare supervisor (which waits for this process's next create, see spare-supervisor.ts).
 */
function processesOf(home: string, except: number | undefined): number[] {
  const pids: number[] = [];
  // This process's own spare supervisor, and the warm spare VM it may run, are not the trials' leftovers.
  const spare = spareSupervisorOf()?.pid;
  const own = [except, process.pid, spare];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || own.includes(Number(entry))) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (!environ.split("\0").includes(`MSB_HOME=${home}`)) continue;
      const stat = readProcStat(Number(entry));
      if (stat === undefined || stat.ppid === spare) continue;
      if (stat.state !== "Z" && stat.state !== "X") pids.push(Number(entry));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ESRCH" || code === "EACCES") continue;
      throw err;
    }
  }
  return pids;
}

/** The recorded supervisor or QEMU of sandbox `name`, if it has one now (read without reconciling). */
function victimOf(home: string, name: string, victim: "supervisor" | "qemu"): ProcessIdentity | undefined {
  const db = new Database(msbPaths(home).database, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare("SELECT supervisor_pid, supervisor_start, qemu_pid, qemu_start FROM sandboxes WHERE name = ?")
      .get(name) as Record<string, number | null> | undefined;
    const pid = row?.[`${victim}_pid`];
    const start = row?.[`${victim}_start`];
    return typeof pid === "number"
      ? { pid, startTime: typeof start === "number" ? start : undefined }
      : undefined;
  } finally {
    db.close();
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** What the state directory holds that no row accounts for. */
async function leaks(home: string): Promise<string[]> {
  const rows = await Sandbox.list();
  const records = await Promise.all(rows.map(async (info) => (await Sandbox.get(info.name)).record));
  const found: string[] = [];
  for (const record of records) {
    if (isLive(record.status)) found.push(`${record.name} says ${record.status}`);
  }
  const runDirs = new Set(records.map((r) => basename(r.runDir)));
  const runRoot = msbPaths(home).runRoot;
  // Run directories of VMs that are not a sandbox's (`os/owned-dir.ts`): this process's spare's warm VM is in use;
  // one whose owner died is what the next ImageService removes, as it does here first.
  await removeAbandonedOwnedDirs(runRoot);
  const spare = (await spareSupervisorReady())?.pid;
  for (const { path } of (await listOwnedDirs(runRoot)).filter((d) => d.owner.pid === spare)) {
    runDirs.add(basename(path));
  }
  for (const dir of existsSync(runRoot) ? readdirSync(runRoot) : []) {
    if (!runDirs.has(dir)) found.push(`run/${dir}`);
  }
  const names = new Set(records.map((r) => r.name));
  const sandboxesDir = msbPaths(home).sandboxesDir;
  for (const dir of existsSync(sandboxesDir) ? readdirSync(sandboxesDir) : []) {
    // A failed create keeps only its logs (its error names them).
    const onlyLogs = readdirSync(join(sandboxesDir, dir)).every((entry) => entry === "logs");
    if (!names.has(dir) && !onlyLogs) found.push(`sandboxes/${dir}`);
  }
  const db = new Database(msbPaths(home).database, { readonly: true });
  try {
    const holders = db.prepare("SELECT holder FROM image_leases").all() as { holder: string }[];
    for (const { holder } of holders) {
      if (!names.has(holder.replace(/^sandbox:/, ""))) found.push(`lease ${holder}`);
    }
  } finally {
    db.close();
  }
  return found;
}

it(`survives ${TRIALS} random kills (seed ${SEED})`, { timeout: TRIALS * 120_000 }, async () => {
  const home = env().home;
  const next = random(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const outcomes: string[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const victim = pick(VICTIMS);
    const phase = pick(PHASES);
    const delayMs = Math.floor(next() * 1500);
    const name = `crash-${trial % 3}`;
    const label = `trial ${trial}: kill ${victim} ${delayMs} ms into ${phase}`;
    const driver = spawn(
      process.execPath,
      ["--import", "tsx", "test/fixtures/crash-driver.ts", name, "alpine:latest"],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    driver.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => driver.once("exit", resolve));
    const state = { ended: false };
    void exited.then(() => (state.ended = true));
    await until(() => out.includes(`phase ${phase}\n`) || state.ended, 120_000);
    await sleep(delayMs);
    let killed = "nothing (it had finished)";
    if (!state.ended && victim === "sdk") {
      driver.kill("SIGKILL");
      killed = "sdk";
    } else if (!state.ended && victim !== "sdk") {
      // The process may not exist yet (early in create or start): wait for it, as long as the driver runs.
      const which = victim;
      let target: ProcessIdentity | undefined;
      await until(() => {
        target = victimOf(home, name, which);
        return target !== undefined || state.ended;
      }, 60_000);
      killed =
        target !== undefined && signalProcess(target, "SIGKILL") ? victim : `nothing (no ${victim} to kill)`;
    }
    const code = await exited;
    const settled = await until(() => processesOf(home, driver.pid).length === 0, 30_000);
    expect(settled, `${label}: processes left ${processesOf(home, driver.pid).join(",")}`).toBe(true);
    expect(await leaks(home), label).toEqual([]);
    const last = out.trim().split("\n").at(-1) ?? "";
    outcomes.push(`${label} → killed ${killed}; driver ${code} (${last})`);

    // The next create with the same name works, and cleans up after itself.
    const sandbox = await Sandbox.create({ name, image: "alpine:latest", replace: true });
    expect((await sandbox.shell("echo ok")).stdout(), label).toBe("ok\n");
    await sandbox.stopAndWait();
    await Sandbox.remove(name);
    expect(await leaks(home), `${label} (after the next create)`).toEqual([]);
  }
  process.stdout.write(`crash matrix, seed ${SEED}:\n${outcomes.join("\n")}\n`);
});
