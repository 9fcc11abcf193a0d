/** What `msb inspect` shows of a sandbox: its stored row made readable, with the paths of its files. */
import { join } from "node:path";
import type { SandboxRecord, SandboxStatus } from "../store/sandbox-repository.js";
import { sandboxPaths } from "./context.js";

/** A process of the sandbox as recorded (its start time proves the pid is still that process). */
export interface InspectedProcess {
  readonly pid: number;
  /** Clock ticks since boot (`/proc/<pid>/stat` field 22); absent where there is no `/proc`. */
  readonly startTime?: number;
}

/** Everything known about one sandbox, JSON-ready. No secret values: the stored config has none. */
export interface SandboxDetails {
  readonly name: string;
  /** The incarnation's id (a new one after `replace`). */
  readonly id: string;
  readonly status: SandboxStatus;
  /** Why it stopped or crashed, when it did. */
  readonly exitReason: string | null;
  readonly image: string;
  /** The manifest digest the sandbox was made from. */
  readonly imageDigest: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** The config it was created with (the registry password is `[redacted]`). */
  readonly config: unknown;
  readonly detached: boolean;
  /** Boots so far (create counts as the first). */
  readonly starts: number;
  readonly processes: {
    readonly supervisor: InspectedProcess | null;
    readonly qemu: InspectedProcess | null;
    /** The process whose exit stops an attached sandbox. */
    readonly owner: number | null;
  };
  readonly paths: {
    readonly dir: string;
    readonly rootDisk: string;
    readonly runDir: string;
    readonly supervisorLog: string;
    readonly consoleLog: string;
    readonly mainLog: string;
  };
  /** ISO 8601. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The details of `record` under the state directory `home`. */
export function sandboxDetails(home: string, record: SandboxRecord): SandboxDetails {
  const paths = sandboxPaths(home, record.name);
  return {
    name: record.name,
    id: record.id,
    status: record.status,
    exitReason: record.exitReason ?? null,
    image: record.image,
    imageDigest: record.imageDigest ?? null,
    labels: record.labels,
    config: JSON.parse(record.configJson) as unknown,
    detached: record.detached,
    starts: record.starts,
    processes: {
      supervisor: processOf(record.supervisorPid, record.supervisorStart),
      qemu: processOf(record.qemuPid, record.qemuStart),
      owner: record.ownerPid ?? null,
    },
    paths: {
      dir: paths.dir,
      rootDisk: paths.rootDisk,
      runDir: record.runDir,
      supervisorLog: paths.supervisorLog,
      consoleLog: join(record.runDir, "console.log"),
      mainLog: join(record.runDir, "main.log"),
    },
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}

function processOf(pid: number | undefined, startTime: number | undefined): InspectedProcess | null {
  if (pid === undefined) return null;
  return startTime === undefined ? { pid } : { pid, startTime };
}
