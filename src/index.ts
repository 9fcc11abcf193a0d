/**
 * microsandbox: lightweight microVM sandboxes for Node.js.
 *
 * This release provides the runtime set-up and the low-level {@link MicroVm}: boot a QEMU microVM on an ext4
 * root disk and run commands in it through the guest agent. The `Sandbox` API of the seed README builds on it.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./sdk/index.js";
export { ExecEventType, LogLevel, PolicyAction, PullPolicy } from "./sdk/enums.js";
export { Secret } from "./secrets/config.js";
export type { SecretEntry, SecretEnvOptions, SecretViolationAction } from "./secrets/config.js";
export { Patch } from "./storage/patch.js";
export type { PatchConfig, PatchKind, PatchOptions, PatchReplaceOptions } from "./storage/patch.js";
export { Mount } from "./sdk/mount-config.js";
export type { MountConfig } from "./sdk/mount-config.js";
export { Volume, VolumeHandle } from "./sdk/volume.js";
export type { VolumeConfig } from "./sdk/volume.js";
export type { VolumeKind } from "./store/volume-repository.js";
export { NetworkPolicy } from "./net/policy/presets.js";
export type { NetworkConfig, PolicyRule } from "./net/policy/types.js";
export type { PortsConfig } from "./net/ports/config.js";
export { install, isInstalled, runtimeArtifacts } from "./setup/index.js";
export type { InstallOptions, RuntimeArtifacts } from "./setup/index.js";
export { MicroVm } from "./vm/microvm.js";
export type { MicroVmOptions, RootDiskOptions } from "./vm/microvm.js";
export type { VmExit } from "./vm/qemu-process.js";
export type { Accelerator } from "./vm/config.js";
export type { ExecRequest, ExecResult } from "./agent-client/exec.js";
