/**
 * How to start a supervisor process. From the built package that is `node dist/supervisor.cjs` (a lean entry
 * point: see `bin.ts`); when the library itself runs from TypeScript sources (tests, development), the sources
 * are run through tsx so the supervisor is the same code as its caller.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPackageRoot } from "../setup/package-root.js";

/** The command line (executable and arguments) that starts a supervisor. */
export function supervisorCommand(): { file: string; args: string[]; cwd: string } {
  return entryCommand("supervisor", "bin");
}

/** The command line that starts a launcher (see `spawn-request.ts`). */
export function launcherCommand(): { file: string; args: string[]; cwd: string } {
  return entryCommand("launcher", "launcher-bin");
}

/** Node running `dist/<built>.cjs`, or `src/supervisor/<source>.ts` through tsx when the library runs from sources. */
function entryCommand(built: string, source: string): { file: string; args: string[]; cwd: string } {
  const self = fileURLToPath(import.meta.url);
  const root = findPackageRoot(dirname(self));
  const fromSources = self.endsWith(".ts");
  const entry = fromSources
    ? join(root, "src", "supervisor", `${source}.ts`)
    : join(root, "dist", `${built}.cjs`);
  if (!existsSync(entry)) throw new Error(`the entry point ${entry} is missing: run npm run build`);
  // Process warnings go to the supervisor's own log (see stdio.ts), not to its stderr file.
  const args = fromSources ? ["--no-warnings", "--import", "tsx", entry] : ["--no-warnings", entry];
  return { file: process.execPath, args, cwd: root };
}
