/** Per-architecture names: Debian packages, QEMU binary, Go target, ELF machine. */
import { SetupError } from "../errors.js";
import { EM_AARCH64, EM_X86_64 } from "./elf.js";

/** Guest CPU architecture (always the host's: we emulate or virtualise the same ISA). */
export type GuestArch = "x86_64" | "aarch64";

/** Everything set-up needs to know about one architecture. */
export interface ArchProfile {
  readonly arch: GuestArch;
  /** Debian architecture name (`amd64`, `arm64`). */
  readonly debianArch: "amd64" | "arm64";
  /** `GOARCH` of the agent. */
  readonly goArch: "amd64" | "arm64";
  /** `e_machine` of guest ELF binaries. */
  readonly elfMachine: number;
  /** QEMU system emulator binary name. */
  readonly qemuBinary: string;
  /** Debian package that provides {@link ArchProfile.qemuBinary}. */
  readonly qemuPackage: string;
  /** Debian meta package that depends on the current cloud kernel image. */
  readonly kernelMetaPackage: string;
}

const PROFILES: Readonly<Record<GuestArch, ArchProfile>> = Object.freeze({
  x86_64: {
    arch: "x86_64",
    debianArch: "amd64",
    goArch: "amd64",
    elfMachine: EM_X86_64,
    qemuBinary: "qemu-system-x86_64",
    qemuPackage: "qemu-system-x86",
    kernelMetaPackage: "linux-image-cloud-amd64",
  },
  aarch64: {
    arch: "aarch64",
    debianArch: "arm64",
    goArch: "arm64",
    elfMachine: EM_AARCH64,
    qemuBinary: "qemu-system-aarch64",
    qemuPackage: "qemu-system-arm",
    kernelMetaPackage: "linux-image-cloud-arm64",
  },
});

/**
 * The profile of the host's architecture (Node's `process.arch` by default).
 *
 * @throws SetupError on architectures other than x64 and arm64.
 */
export function archProfile(nodeArch: string = process.arch): ArchProfile {
  if (nodeArch === "x64") return PROFILES.x86_64;
  if (nodeArch === "arm64") return PROFILES.aarch64;
  throw new SetupError(`unsupported host architecture ${nodeArch}`, {
    hint: "microsandbox runs on x86_64 and arm64",
  });
}
