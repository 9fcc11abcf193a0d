/**
 * `msb __supervise` (hidden): the supervisor process of one sandbox. Reads its spec as JSON on stdin, reports
 * readiness as one JSON line on stdout, and in attached mode watches the owner pipe on fd 3.
 */
import { Socket } from "node:net";
import type { Command } from "commander";
import { parseSpec } from "../../supervisor/spec.js";
import { runSupervisor } from "../../supervisor/supervisor.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Adds the hidden `__supervise` verb. */
export function registerSupervise(program: Command): void {
  program
    .command("__supervise", { hidden: true })
    .description("run a sandbox supervisor (internal)")
    .action(async () => {
      const spec = parseSpec(await readStdin());
      const ownerPipe = spec.detached ? undefined : new Socket({ fd: 3, readable: true, writable: false });
      const code = await runSupervisor(spec, {
        report: (report) => {
          process.stdout.write(JSON.stringify(report) + "\n");
        },
        ...(ownerPipe ? { ownerPipe } : {}),
      });
      process.exit(code);
    });
}
