/** The seed-compatible SDK: `Sandbox`, `SandboxHandle`, `ExecOutput` and their option types. */
export { Sandbox } from "./sandbox.js";
export { SandboxHandle } from "./sandbox-handle.js";
export type { SandboxInfo } from "./sandbox-handle.js";
export { allSandboxMetrics } from "./metrics.js";
export type { SandboxMetrics } from "./metrics.js";
export type { SandboxListFilter } from "./list-filter.js";
export { ExecOutput } from "./exec-output.js";
export type { ExitStatus } from "./exec-output.js";
export { Stdin } from "./exec-config.js";
export type { ExecConfig, ExecStreamOptions, StdinInput, StdinSpec } from "./exec-config.js";
export { ExecHandle, ExecSink } from "./exec-handle.js";
export { FsEntryKind, SandboxFs } from "./sandbox-fs.js";
export type {
  CopyOptions,
  FsEntry,
  FsMetadata,
  ReadStreamOptions,
  SandboxFsOptions,
  WriteOptions,
} from "./sandbox-fs.js";
export type { ExecEvent } from "../agent-client/exec-channel.js";
export type { RegistryAuth, SandboxConfig } from "./config.js";
export type { LogSource, LogsOptions } from "./logs.js";
