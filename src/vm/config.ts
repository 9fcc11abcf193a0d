/**
 * The typed description of one QEMU microVM. {@link buildQemuArgv} turns it into a command line; nothing here
 * touches the host.
 */

/** Guest CPU architecture. */
export type VmArch = "x86_64" | "aarch64";

/** Accelerator QEMU runs the guest with. */
export type Accelerator = "kvm" | "hvf" | "tcg";

/** A virtio-blk disk. The guest finds it by `serial` under `/sys/block/*\/serial`. */
export interface VmDisk {
  /** QEMU drive id (letters, digits, `-`, `_`). */
  readonly id: string;
  readonly path: string;
  readonly format: "raw" | "qcow2";
  readonly readonly: boolean;
  /** virtio-blk serial (at most 20 bytes), the name the agent looks the disk up by. */
  readonly serial: string;
}

/** A host folder the guest mounts over virtio-fs: a `virtiofsd` already listens on `socketPath`. */
export interface VmShare {
  /** virtio-fs tag the guest mounts by (at most 36 bytes: letters, digits, `_`, `-`). */
  readonly tag: string;
  /** The vhost-user socket of the share's `virtiofsd`. */
  readonly socketPath: string;
}

/** Guest networking backend. */
export type VmNetwork =
  | { readonly kind: "none" }
  /** Ethernet frames over a unix socket (`-netdev stream`), to a userspace stack listening there. */
  | { readonly kind: "stream"; readonly socketPath: string; readonly mac: string };

/** Everything needed to start one VM. */
export interface VmConfig {
  readonly arch: VmArch;
  readonly accel: Accelerator;
  readonly cpus: number;
  readonly memoryMib: number;
  /** Kernel image (PVH vmlinux or bzImage on x86_64, Image on arm64). */
  readonly kernel: string;
  readonly initrd: string;
  /** Kernel command line arguments, joined with spaces. */
  readonly cmdline: readonly string[];
  readonly disks: readonly VmDisk[];
  /**
   * virtio-fs shares. When there is any, guest RAM is a shared memfd (vhost-user needs the daemon to map it).
   */
  readonly shares: readonly VmShare[];
  /** Unix socket QEMU listens on for the agent's virtio-serial port. */
  readonly agentSocket: string;
  /** Unix socket QEMU listens on for QMP. */
  readonly qmpSocket: string;
  /**
   * File the guest console (serial port) ends up in: QEMU writes it to its stdout, which the VM's owner copies
   * there with a size bound (QEMU itself never opens it).
   */
  readonly consoleLog: string;
  readonly network: VmNetwork;
  /**
   * x86_64 microvm only: whether QEMU gives the guest ACPI tables (default `true`). Debian's kernel finds its
   * virtio-mmio devices there. The microvm kernel runs without (`acpi=off`): QEMU then appends one
   * `virtio_mmio.device=` per device to the command line, and the guest powers off by restarting (`-no-reboot`
   * turns that into QEMU's exit).
   */
  readonly acpi?: boolean;
  /**
   * Guest RAM in a file (VM templates; not with shares). `shared: true` maps it shared, so the file holds the
   * memory of the VM a template is made from; `shared: false` maps it private, copy-on-write: a VM restored from
   * the template reads the file's pages and never writes them.
   */
  readonly ramFile?: { readonly path: string; readonly shared: boolean };
  /** Wait for a migration stream over QMP (`-incoming defer`), with no kernel to boot: a VM restored from a template. */
  readonly incoming?: boolean;
}

/** Limits the VM config is checked against. */
export const VM_LIMITS = {
  /**
   * Measured under TCG with the Debian cloud kernel and an alpine root disk: 72 MiB does not boot (the guest dies
   * during the handshake), 80-88 MiB boot but an 8 MiB write to /tmp is OOM-killed, 96 MiB boots and works every
   * time (16 MiB free after boot).
   */
  minMemoryMib: 96,
  maxMemoryMib: 1024 * 1024,
  maxCpus: 255,
  maxSerialBytes: 20,
  maxShareTagBytes: 36,
} as const;
