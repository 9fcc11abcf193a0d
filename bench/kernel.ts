/**
 * Guest kernel benchmark: bare QEMU booting the microvm kernel (built by set-up) against Debian's cloud kernel,
 * each into the same minimal busybox init that powers off at once, in alternating runs of one process (goal:
 * ratio <= 0.4); and the resident memory of an idle QEMU with each kernel (init sleeping, 512 MiB guest).
 * The microvm kernel is the installed one (`msb setup`, the default), or else the newest entry of the build
 * cache; Debian's is downloaded once into `.test-artifacts/bench-kernels/` through set-up's own code.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Apt } from "../src/setup/apt.js";
import { archProfile } from "../src/setup/arch.js";
import { kernelBuildsDirOf } from "../src/setup/kernel-cache.js";
import { prepareKernel } from "../src/setup/kernel-image.js";
import { fetchKernelPackage } from "../src/setup/kernel-package.js";
import { runtimeArtifacts } from "../src/setup/index.js";
import { artifactDir } from "../test/fixtures/artifacts.js";
import { bareArgv, bareBoot, bareInitrd, type BenchKernel } from "./boot.js";
import type { BenchResult } from "./result.js";
import { median, pairedRatio } from "./result.js";

const RUNS = 7;
/** How long the idle VM runs after its init printed the ready line before its RSS is read. */
const SETTLE_MS = 10_000;
/** Longest a boot to the idle init may take. */
const IDLE_BOOT_TIMEOUT_MS = 60_000;
const READY = "msb-idle-ready";

function microvmKernel(): BenchKernel {
  const installed = runtimeArtifacts();
  if (installed.kernelFlavor === "microvm") return { path: installed.kernel, flavor: "microvm" };
  const dir = kernelBuildsDirOf({});
  const entries = existsSync(dir)
    ? readdirSync(dir)
        .map((name) => join(dir, name, "vmlinux"))
        .filter((path) => existsSync(path))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  const [newest] = entries;
  if (newest === undefined) {
    throw new Error(`no microvm kernel installed or in ${dir}: run \`msb setup --kernel microvm\` first`);
  }
  return { path: newest, flavor: "microvm" };
}

async function debianKernel(): Promise<BenchKernel> {
  const installed = runtimeArtifacts();
  if (installed.kernelFlavor === "debian") return { path: installed.kernel, flavor: "debian" };
  const profile = archProfile();
  const apt = Apt.find(() => undefined);
  if (apt === undefined) throw new Error("the Debian kernel comes from apt, and this host has none");
  const pkg = await apt.resolveKernelPackage(profile.kernelMetaPackage);
  const dir = artifactDir("bench-kernels", `${pkg.name}_${pkg.version}`);
  const vmlinux = join(dir, "vmlinux");
  if (existsSync(vmlinux)) return { path: vmlinux, flavor: "debian" };
  const work = mkdtempSync(join(dir, ".fetch-"));
  try {
    const unpacked = await fetchKernelPackage(apt, pkg, work);
    const prepared = await prepareKernel(await readFile(unpacked.vmlinuz), profile, () => undefined);
    writeFileSync(`${vmlinux}.tmp`, prepared.data);
    renameSync(`${vmlinux}.tmp`, vmlinux);
    return { path: vmlinux, flavor: "debian" };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Boots `kernel` into an init that prints {@link READY} and sleeps; returns QEMU's VmRSS in MiB once settled. */
async function idleRssMib(dir: string, initrd: string, kernel: BenchKernel): Promise<number> {
  const child = spawn(runtimeArtifacts().qemuBinary, bareArgv(dir, initrd, kernel), {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let seen = "";
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ${READY} from the idle VM within ${IDLE_BOOT_TIMEOUT_MS} ms`));
      }, IDLE_BOOT_TIMEOUT_MS);
      child.stdout.on("data", (chunk: Buffer) => {
        seen = (seen + chunk.toString("utf8")).slice(-4096);
        if (seen.includes(READY)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`idle QEMU exited early with ${code}: ${seen}`));
      });
    });
    await ready;
    await sleep(SETTLE_MS);
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
    if (!Number.isFinite(kib)) throw new Error("no VmRSS in QEMU's /proc status");
    return kib / 1024;
  } finally {
    child.kill("SIGKILL");
  }
}

/** Runs the kernel benchmarks. */
export async function benchKernel(): Promise<BenchResult[]> {
  const ours = microvmKernel();
  const debian = await debianKernel();
  const dir = mkdtempSync(join(tmpdir(), "msb-bench-kernel-"));
  try {
    const initrd = bareInitrd(dir);
    const idleInitrd = bareInitrd(dir, `echo ${READY}\nexec /bin/busybox sleep 3600\n`, "idle.cpio");
    const oursMs: number[] = [];
    const debianMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursMs.push(await bareBoot(dir, initrd, ours));
      debianMs.push(await bareBoot(dir, initrd, debian));
    }
    const rssOurs = await idleRssMib(dir, idleInitrd, ours);
    const rssDebian = await idleRssMib(dir, idleInitrd, debian);
    const note = `${RUNS} alternating runs, medians; ratio: median of per-pair ratios; kernels ${ours.path} vs ${debian.path}`;
    const rssNote = `QEMU VmRSS ${SETTLE_MS / 1000} s after a busybox init printed its ready line; 512 MiB guest`;
    return [
      {
        name: "kernel.bare-boot-microvm-vs-debian",
        value: median(oursMs),
        unit: "ms",
        baseline: median(debianMs),
        ratio: pairedRatio(oursMs, debianMs),
        note,
      },
      {
        name: "kernel.idle-qemu-rss-microvm-vs-debian",
        value: rssOurs,
        unit: "MiB",
        baseline: rssDebian,
        ratio: rssOurs / rssDebian,
        note: rssNote,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
