/**
 * install() step: the guest agent. Built into the work directory when its sources, the Go version or the
 * architecture changed (or the binary is missing); otherwise the installed one is kept.
 */
import { chmod, stat } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { buildAgent, goVersion, hashAgentSources } from "./agent-build.js";
import { elapsed, megabytes, type InstallContext } from "./context.js";
import { findExecutable } from "./exec.js";
import type { AgentRecord, Manifest } from "./manifest.js";

/** File name of the agent binary in the kernel directory. */
export const AGENT_FILE = "agent";
/** `GOCACHE` of agent builds, inside the kernel directory. */
export const GO_CACHE_DIR = "go-cache";

/** What the agent step produced. */
export interface AgentStepResult {
  readonly agent: AgentRecord;
  /** True when a new binary was built into the work directory (false: the installed one is kept). */
  readonly staged: boolean;
  /** Directory holding the binary now: the work or the kernel directory. */
  readonly location: string;
}

async function sizeIfPresent(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    },
  );
}

/**
 * Builds the agent from `sourceDir` into the work directory, or keeps the installed one.
 *
 * @throws SetupError with the Go compiler's output when the build fails.
 */
export async function stageAgent(
  ctx: InstallContext,
  previous: Manifest | undefined,
  sourceDir: string,
): Promise<AgentStepResult> {
  const go = findExecutable("go");
  if (go === undefined) throw new SetupError("go is not installed", { hint: "install golang-go" });
  const [sourceHash, version] = await Promise.all([hashAgentSources(sourceDir), goVersion(go)]);
  const target = join(ctx.kernelDir, AGENT_FILE);
  const old = previous?.agent;
  if (
    !ctx.force &&
    previous?.arch === ctx.profile.arch &&
    old?.sourceHash === sourceHash &&
    old.goVersion === version &&
    (await sizeIfPresent(target)) === old.size
  ) {
    ctx.log(`agent: up to date (sources ${sourceHash.slice(0, 12)}, ${version})`);
    return { agent: old, staged: false, location: ctx.kernelDir };
  }
  const start = performance.now();
  ctx.log(`agent: building ${sourceDir} with ${version} for linux/${ctx.profile.goArch}`);
  const built = join(ctx.workDir, AGENT_FILE);
  await buildAgent({
    sourceDir,
    output: built,
    profile: ctx.profile,
    goBinary: go,
    cacheDir: join(ctx.kernelDir, GO_CACHE_DIR),
  });
  await chmod(built, 0o755);
  const size = (await stat(built)).size;
  ctx.log(`agent: built, static, ${megabytes(size)} (${elapsed(start)})`);
  return {
    agent: { file: AGENT_FILE, sourceHash, goVersion: version, size },
    staged: true,
    location: ctx.workDir,
  };
}
