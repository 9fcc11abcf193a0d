/**
 * Runtime set-up: installs QEMU and the other host tools, the guest kernel (Debian's cloud kernel, unpacked
 * without installing it), the static Go agent and the initramfs, under `<MSB_HOME>/kernel/`.
 *
 * @packageDocumentation
 */
export { install } from "./install.js";
export { isInstalled, runtimeArtifacts } from "./artifacts.js";
export { hostTscKhz } from "./host.js";
export { REQUIRED_MODULES } from "./modules.js";
export type {
  GuestArch,
  InstallOptions,
  KernelFormat,
  RuntimeArtifacts,
  RuntimeLocationOptions,
  SetupLog,
} from "./types.js";
