/** Public types of runtime set-up. */
import type { GuestArch } from "./arch.js";

export type { GuestArch } from "./arch.js";

/**
 * How the guest kernel file is packaged:
 * - `pvh-vmlinux`: uncompressed x86_64 ELF with a Xen PVH entry note, booted directly by QEMU (fastest under TCG);
 * - `bzimage`: the x86_64 compressed boot image as Debian ships it (fallback);
 * - `image`: an uncompressed arm64 `Image`.
 */
export type KernelFormat = "pvh-vmlinux" | "bzimage" | "image";

/**
 * Which guest kernel set-up installs:
 * - `microvm`: built from Debian's kernel source package with the repository's config fragment
 *   (`kernel/microvm.config`): every driver built in, no modules, a fraction of the boot time;
 * - `debian`: Debian's cloud kernel package, with its virtio drivers loaded as modules from the initramfs.
 */
export type KernelFlavor = "microvm" | "debian";

/** Receives one human-readable progress line at a time. */
export type SetupLog = (line: string) => void;

/** Where the runtime lives. */
export interface RuntimeLocationOptions {
  /** State directory (default: `MSB_HOME`, else `~/.microsandbox`); artefacts go to its `kernel/` directory. */
  home?: string | undefined;
}

/** Options of `install()`. */
export interface InstallOptions extends RuntimeLocationOptions {
  /** Progress lines (what is being done, how long it took). Default: silent. */
  log?: SetupLog | undefined;
  /** Rebuild everything (download the kernel again, rebuild the agent and the initramfs). */
  force?: boolean | undefined;
  /**
   * Install missing Debian packages with apt-get (default `true`; needs root). With `false`, missing tools
   * make install() fail with the list of packages to install.
   */
  systemPackages?: boolean | undefined;
  /**
   * The guest kernel (default {@link DEFAULT_KERNEL_FLAVOR}). When building `microvm` fails, set-up installs
   * `debian` instead and says why.
   */
  kernel?: KernelFlavor | undefined;
  /** Go sources of the guest agent (default: the `agent/` directory of this package). */
  agentSourceDir?: string | undefined;
}

/** Absolute paths and facts about an installed runtime: what the VM driver boots. */
export interface RuntimeArtifacts {
  /** Guest kernel file (see `kernelFormat`). */
  readonly kernel: string;
  /** Initramfs (newc cpio, possibly gzip-compressed) with the agent as `/init` and the virtio modules. */
  readonly initrd: string;
  /** The static guest agent binary (also inside the initramfs). */
  readonly agent: string;
  /** Kernel release (`6.1.0-56-cloud-amd64`). */
  readonly kernelVersion: string;
  /** QEMU system emulator to run (`MSB_QEMU` if set, else `qemu-system-<arch>` from PATH). */
  readonly qemuBinary: string;
  /** Guest (= host) architecture. */
  readonly arch: GuestArch;
  readonly kernelFormat: KernelFormat;
  /** Which kernel is installed. */
  readonly kernelFlavor: KernelFlavor;
}
