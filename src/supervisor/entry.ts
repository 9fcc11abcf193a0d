/**
 * How to start a supervisor process: `node <msb entry> __supervise`. From the built package that is
 * `dist/cli/msb.js`; when the library itself runs from TypeScript sources (tests, development), the sources are
 * run through tsx so the supervisor is the same code as its caller.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findPackageRoot } from "../setup/package-root.js";

/** The command line (executable and arguments) that starts a supervisor. */
export function supervisorCommand(): { file: string; args: string[]; cwd: string } {
  const self = fileURLToPath(import.meta.url);
  const root = findPackageRoot(dirname(self));
  const fromSources = self.endsWith(".ts");
  const entry = fromSources ? join(root, "src", "cli", "msb.ts") : join(root, "dist", "cli", "msb.js");
  if (!existsSync(entry)) throw new Error(`the msb entry point ${entry} is missing: run npm run build`);
  const args = fromSources ? ["--import", "tsx", entry, "__supervise"] : [entry, "__supervise"];
  return { file: process.execPath, args, cwd: root };
}
