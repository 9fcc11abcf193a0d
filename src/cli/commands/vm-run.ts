/**
 * `msb vm-run --disk ROOT.ext4 -- CMD...`: boot a microVM on an ext4 root disk, run one command, print its
 * output and exit with its code. The low-level counterpart of `msb run IMAGE` (which adds OCI images).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { collect, parseEnv } from "../options.js";
import { MicroVm } from "../../vm/microvm.js";

interface VmRunOptions {
  disk: string;
  cpus: string;
  memory: string;
  env: string[];
  workdir?: string;
  user?: string;
}

/** Adds the `vm-run` verb. */
export function registerVmRun(program: Command): void {
  program
    .command("vm-run")
    .description("boot a microVM on an ext4 root disk and run one command in it")
    .requiredOption(
      "--disk <path>",
      "ext4 root disk image (not modified: the VM writes to a temporary overlay)",
    )
    .option("--cpus <n>", "virtual CPUs", "1")
    .option("--memory <mib>", "guest memory in MiB", "512")
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("-w, --workdir <dir>", "working directory in the guest")
    .option("-u, --user <user>", "user to run as (name, uid or uid:gid)")
    .argument("<command...>", "command and arguments (put them after --)")
    .action(async (argv: string[], opts: VmRunOptions) => {
      const scratch = mkdtempSync(join(tmpdir(), "msb-vm-run-"));
      const overlay = join(scratch, "root.qcow2");
      execFileSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "raw",
        "-b",
        resolve(opts.disk),
        overlay,
      ]);
      try {
        await using vm = await MicroVm.boot({
          rootDisk: { path: overlay, format: "qcow2" },
          cpus: Number(opts.cpus),
          memoryMib: Number(opts.memory),
        });
        const out = await vm.exec({
          argv,
          env: parseEnv(opts.env),
          ...(opts.workdir === undefined ? {} : { cwd: opts.workdir }),
          ...(opts.user === undefined ? {} : { user: opts.user }),
        });
        process.stdout.write(out.stdout);
        process.stderr.write(out.stderr);
        process.exitCode = out.code;
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
}
