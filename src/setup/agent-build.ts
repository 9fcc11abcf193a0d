/**
 * Builds the guest agent: a static Go binary (`CGO_ENABLED=0`) for the guest architecture, which becomes `/init`
 * of the initramfs. Also fingerprints the agent sources so install() rebuilds only when they changed.
 */
import { createHash } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { SetupError } from "../errors.js";
import type { ArchProfile } from "./arch.js";
import { PT_INTERP, parseElf } from "./elf.js";
import { run } from "./exec.js";

/** Inputs of {@link buildAgent}. */
export interface AgentBuildOptions {
  /** Directory of the agent's main package (holds go.mod). */
  readonly sourceDir: string;
  /** Path of the binary to write. */
  readonly output: string;
  readonly profile: ArchProfile;
  /** Absolute path of the `go` tool. */
  readonly goBinary: string;
  /** `GOCACHE` for the build. */
  readonly cacheDir: string;
}

/** Go skips directories named `testdata` or starting with `.` or `_`; `bin/` holds local build output. */
function ignoredDir(name: string, depth: number): boolean {
  return (
    name.startsWith(".") || name.startsWith("_") || name === "testdata" || (depth === 0 && name === "bin")
  );
}

async function sourceFiles(dir: string, depth: number, out: string[]): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !ignoredDir(entry.name, depth)) await sourceFiles(path, depth + 1, out);
    else if (entry.isFile() && !entry.name.endsWith("_test.go")) out.push(path);
  }
  return out;
}

/** Throws a {@link SetupError} unless `sourceDir` is an existing directory. */
export async function checkAgentSourceDir(sourceDir: string): Promise<void> {
  const info = await stat(sourceDir).catch((err: unknown) => {
    throw new SetupError(`the agent sources are missing: ${sourceDir} does not exist`, {
      cause: err,
      hint: "pass agentSourceDir to install(), or reinstall the microsandbox package",
    });
  });
  if (!info.isDirectory()) throw new SetupError(`agent source path ${sourceDir} is not a directory`);
}

/**
 * SHA-256 over the relative path and content of every agent source file (tests, `testdata/`, hidden directories
 * and a top-level `bin/` excluded), in sorted order.
 */
export async function hashAgentSources(sourceDir: string): Promise<string> {
  await checkAgentSourceDir(sourceDir);
  const hash = createHash("sha256");
  for (const path of (await sourceFiles(sourceDir, 0, [])).sort()) {
    const data = await readFile(path);
    hash.update(`${relative(sourceDir, path).split(sep).join("/")}\0${data.length}\0`).update(data);
  }
  return hash.digest("hex");
}

/** The Go toolchain version (`go1.19.8`), part of the agent's cache key. */
export async function goVersion(goBinary: string): Promise<string> {
  const { stdout } = await run(goBinary, ["env", "GOVERSION"], { env: { GOTOOLCHAIN: "local" } });
  return stdout.toString("utf8").trim();
}

/**
 * Checks that `data` is a statically linked executable for the guest: ELF executable of `profile.elfMachine`
 * without a `PT_INTERP` program header (no dynamic loader needed, so it runs in any image).
 *
 * @throws SetupError otherwise.
 */
export function verifyStaticExecutable(data: Uint8Array, profile: ArchProfile, label: string): void {
  const elf = parseElf(data, label);
  if (elf.machine !== profile.elfMachine) {
    throw new SetupError(`${label} was built for ELF machine ${elf.machine}, not ${profile.arch}`);
  }
  if (elf.type !== 2 && elf.type !== 3)
    throw new SetupError(`${label} is not an executable (ELF type ${elf.type})`);
  if (elf.programHeaders.some((p) => p.type === PT_INTERP)) {
    throw new SetupError(`${label} is dynamically linked (it has a PT_INTERP program header)`, {
      hint: "the agent must build with CGO_ENABLED=0 and without cgo-only packages",
    });
  }
}

/**
 * Runs `go build -trimpath -ldflags "-s -w"` on the agent for the guest architecture with `CGO_ENABLED=0`, then
 * verifies the output is a static executable.
 *
 * @throws SetupError with the compiler's output when the build fails.
 */
export async function buildAgent(options: AgentBuildOptions): Promise<void> {
  await checkAgentSourceDir(options.sourceDir);
  await run(options.goBinary, ["build", "-trimpath", "-ldflags", "-s -w", "-o", options.output, "."], {
    cwd: options.sourceDir,
    env: {
      CGO_ENABLED: "0",
      GOOS: "linux",
      GOARCH: options.profile.goArch,
      GOCACHE: options.cacheDir,
      GOTOOLCHAIN: "local",
    },
    hint: `the guest agent in ${options.sourceDir} did not build; fix it and rerun install()`,
  });
  verifyStaticExecutable(await readFile(options.output), options.profile, "the agent binary");
}
