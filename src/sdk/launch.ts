/**
 * Starts a sandbox's supervisor process and waits for its ready report. The spec travels on stdin (never argv);
 * stderr goes to `supervisor.log` in the sandbox directory; in attached mode fd 3 is the owner pipe, whose far
 * end only this process holds, so the supervisor sees it close when we die, however we die.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import { MsbError, VmError } from "../errors.js";
import { supervisorCommand } from "../supervisor/entry.js";
import type { SupervisorReport, SupervisorSpec } from "../supervisor/spec.js";

/** A started supervisor. */
export interface LaunchedSupervisor {
  readonly pid: number;
  readonly qemuPid: number;
  readonly bootMs: number;
}

/** Spawns the supervisor for `spec`; resolves once it reports ready, rejects (and kills it) otherwise. */
export async function launchSupervisor(spec: SupervisorSpec, logFile: string): Promise<LaunchedSupervisor> {
  const command = supervisorCommand();
  const log = openSync(logFile, "a");
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    detached: true,
    stdio: ["pipe", "pipe", log, spec.detached ? "ignore" : "pipe"],
  });
  closeSync(log);
  child.stdin?.end(JSON.stringify(spec));
  const lines = createInterface({ input: child.stdout ?? process.stdin });
  try {
    const report = await new Promise<SupervisorReport>((resolve, reject) => {
      lines.once("line", (line) => {
        try {
          resolve(JSON.parse(line) as SupervisorReport);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      child.once("exit", (code, signal) => {
        reject(
          new VmError(
            "MSB_ERR_VM_START",
            `the supervisor exited (${signal ?? `code ${code}`}) before it was ready`,
            {
              hint: `see ${logFile}`,
            },
          ),
        );
      });
      child.once("error", reject);
    });
    if (!report.ready) {
      throw new MsbError(report.code as MsbError["code"], report.message, { hint: `see ${logFile}` });
    }
    lines.close();
    child.stdout?.destroy();
    const owner = child.stdio[3] as Socket | null | undefined;
    owner?.unref();
    child.unref();
    return { pid: report.pid, qemuPid: report.qemuPid, bootMs: report.bootMs };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}
