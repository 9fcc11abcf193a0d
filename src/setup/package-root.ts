/**
 * Finds this package's own directory, so set-up can build the `agent/` sources shipped with it. Works from the
 * ESM and CJS builds in `dist/` (tsup shims `import.meta.url` in CJS) and from `src/` under tsx or vitest.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SetupError } from "../errors.js";

/** The `name` in package.json that marks our package root. */
export const PACKAGE_NAME = "microsandbox";

function packageNameAt(dir: string): string | undefined {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || !("name" in parsed)) return undefined;
  return typeof parsed.name === "string" ? parsed.name : undefined;
}

/**
 * Walks up from `startDir` to the first directory whose package.json is named {@link PACKAGE_NAME}.
 *
 * @throws SetupError when there is none up to the filesystem root.
 */
export function findPackageRoot(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    if (packageNameAt(dir) === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new SetupError(`cannot find the ${PACKAGE_NAME} package directory above ${startDir}`, {
    hint: "pass agentSourceDir to install()",
  });
}

/** The agent's Go sources shipped with this package: `<package root>/agent`. */
export function defaultAgentSourceDir(): string {
  return join(findPackageRoot(), "agent");
}
