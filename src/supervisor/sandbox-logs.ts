/**
 * The logs of one sandbox as its supervisor writes them: the supervisor's own JSON-lines log (filtered by the
 * config's `logLevel`), the guest console and the main process's output, all rotated at the bound of
 * `MSB_LOG_MAX_BYTES` × `MSB_LOG_FILES`, in the sandbox's log directory. The warnings logged before the sandbox
 * is ready are kept (a few) for the ready report, so the creator can show them on its terminal (unless
 * `quietLogs`).
 */
import { mkdirSync } from "node:fs";
import { readEnv } from "../config/env.js";
import { JsonLogger } from "../logs/logger.js";
import type { LogEvent } from "../logs/logger.js";
import { RotatingWriter } from "../logs/rotating-writer.js";
import type { LogLimits } from "../logs/rotating-writer.js";
import { logPath } from "../logs/sources.js";
import type { SupervisorSpec } from "./spec.js";

/** Most warnings carried by the ready report. */
const MAX_REPORTED_WARNINGS = 16;

/** A sandbox's open logs. */
export interface SandboxLogs {
  /** The supervisor's own log. */
  readonly logger: JsonLogger;
  /** Bound of every log. */
  readonly limits: LogLimits;
  /** Path of the guest console log (MicroVm writes it). */
  readonly consolePath: string;
  /** Opens the main process's log (appending). */
  openMain(): RotatingWriter;
  /** Warning and error messages logged so far, then no more once {@link stopCollecting} was called. */
  readonly warnings: readonly string[];
  /** Stops collecting warnings for the report (the sandbox is ready). */
  stopCollecting(): void;
  /** Closes the supervisor log. */
  close(): void;
}

/** Opens the logs of the sandbox of `spec` (creating its log directory). */
export function openSandboxLogs(spec: SupervisorSpec): SandboxLogs {
  const logDir = spec.logDir ?? spec.runDir;
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const limits = readEnv().logLimits;
  const file = new RotatingWriter(logPath(logDir, "supervisor"), limits);
  const warnings: string[] = [];
  let collecting = true;
  const collect = (event: LogEvent): void => {
    if (!collecting || warnings.length >= MAX_REPORTED_WARNINGS) return;
    if (event.level === "warn" || event.level === "error") warnings.push(event.msg);
  };
  const logger = new JsonLogger(file, { level: spec.logLevel ?? "info", onEvent: collect });
  return {
    logger,
    limits,
    consolePath: logPath(logDir, "console"),
    openMain: () => new RotatingWriter(logPath(logDir, "main"), limits),
    warnings,
    stopCollecting() {
      collecting = false;
    },
    close() {
      file.close();
    },
  };
}
