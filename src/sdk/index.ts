/** The seed-compatible SDK: `Sandbox`, `SandboxHandle`, `ExecOutput` and their option types. */
export { Sandbox } from "./sandbox.js";
export { SandboxHandle } from "./sandbox-handle.js";
export type { SandboxInfo } from "./sandbox-handle.js";
export { ExecOutput } from "./exec-output.js";
export type { ExitStatus } from "./exec-output.js";
export type { ExecConfig } from "./exec-config.js";
export type { RegistryAuth, SandboxConfig } from "./config.js";
