/**
 * Integration tests need the real runtime: QEMU, the guest kernel, the initramfs and the agent built by
 * `npm run setup`. When any of it is missing the whole run fails here, loudly: these tests never skip.
 */
import { isInstalled, runtimeArtifacts } from "../../src/setup/index.js";

export default function setup(): void {
  if (!isInstalled()) {
    // runtimeArtifacts() throws a RuntimeNotInstalledError naming what is missing.
    runtimeArtifacts();
    throw new Error("the microsandbox runtime is not installed: run `npm run setup` first");
  }
}
