/**
 * Image benchmarks: a cold pull of the python image (Debian bookworm + python3, 44 MB gzip) from a loopback
 * registry against `skopeo copy` of the same image to a `dir:` in the same run (ratio = ours / skopeo, goal <= 1.0),
 * and the time to build its ext4 root disk and to create a sandbox overlay on it.
 *
 * "Cold" means an empty local cache (a fresh MSB_HOME): the ImageService is opened before the clock starts, as a
 * long-lived process would have it; skopeo's time includes its process start. One untimed warm-up of each, then
 * medians of alternating runs (each side goes first half of the time, so neither always gets the warmer page cache).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readEnv } from "../src/config/env.js";
import { ImageService } from "../src/image/index.js";
import { describeToolFailure, runTool } from "../src/image/tool.js";
import { startRegistry } from "../test/fixtures/registry/registry-server.js";
import { seedRegistry } from "../test/fixtures/registry/seed.js";
import type { BenchResult } from "./result.js";

const RUNS = 5;
const REPOSITORY = "library/python:3.12";

/** Runs the image benchmarks (needs docker-registry and skopeo; builds the python layer on first use). */
export async function benchImage(): Promise<BenchResult[]> {
  await using registry = await startRegistry();
  await seedRegistry(registry.url, { python: true, only: [REPOSITORY] });
  const reference = `${registry.host}/${REPOSITORY}`;
  const ours: number[] = [];
  const skopeo: number[] = [];
  const builds: number[] = [];
  const overlays: number[] = [];
  for (let run = -1; run < RUNS; run++) {
    await withHome(async (home) => {
      await using images = await ImageService.open({ env: env(home) });
      const pullOurs = async (): Promise<string> => {
        const started = performance.now();
        const info = await images.pull(reference);
        if (run >= 0) ours.push(performance.now() - started);
        return info.digest;
      };
      const pullSkopeo = async (): Promise<void> => {
        const time = await skopeoCopy(reference, join(home, "skopeo"));
        if (run >= 0) skopeo.push(time);
      };
      let digest: string;
      if (run % 2 === 0) {
        await pullSkopeo();
        digest = await pullOurs();
      } else {
        digest = await pullOurs();
        await pullSkopeo();
      }
      if (run < 0) return;
      const buildStart = performance.now();
      await images.baseDisk(digest);
      builds.push(performance.now() - buildStart);
      const overlayStart = performance.now();
      await images.createRootDisk({ image: digest, path: join(home, "sandbox.qcow2") });
      overlays.push(performance.now() - overlayStart);
    });
  }
  const pull = median(ours);
  const baseline = median(skopeo);
  return [
    {
      name: "image: cold pull python:3.12 (loopback registry)",
      value: round(pull),
      unit: "ms",
      baseline: round(baseline),
      ratio: round(pull / baseline, 2),
    },
    { name: "image: skopeo copy python:3.12 (same registry)", value: round(baseline), unit: "ms" },
    { name: "image: build python root disk (ext4 base)", value: round(median(builds)), unit: "ms" },
    { name: "image: create sandbox overlay (qcow2)", value: round(median(overlays), 1), unit: "ms" },
  ];
}

function env(home: string): ReturnType<typeof readEnv> {
  return readEnv({ MSB_HOME: home, PATH: process.env["PATH"] ?? "", DOCKER_CONFIG: join(home, "no-docker") });
}

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), "msb-bench-image-"));
  try {
    await fn(home);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

async function skopeoCopy(reference: string, dir: string): Promise<number> {
  const started = performance.now();
  let result: Awaited<ReturnType<typeof runTool>>;
  try {
    result = await runTool("skopeo", {
      args: ["copy", "--quiet", "--src-tls-verify=false", `docker://${reference}`, `dir:${dir}`],
      timeoutMs: 300_000,
    });
  } catch (error) {
    throw new Error("skopeo is needed for the image benchmark baseline: apt-get install skopeo", {
      cause: error,
    });
  }
  if (result.code !== 0) throw new Error(describeToolFailure("skopeo", result));
  return performance.now() - started;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
