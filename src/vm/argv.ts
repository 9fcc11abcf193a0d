/** Turns a {@link VmConfig} into QEMU's argument vector. Pure and deterministic. */
import { InvalidConfigError } from "../errors.js";
import type { KernelFlavor } from "../setup/types.js";
import type { VmConfig, VmDisk, VmShare } from "./config.js";
import { VM_LIMITS } from "./config.js";

/** QEMU binary name for a guest architecture. */
export function qemuBinaryName(arch: VmConfig["arch"]): string {
  return arch === "x86_64" ? "qemu-system-x86_64" : "qemu-system-aarch64";
}

/** QEMU's option syntax uses `,` as a separator: a literal comma in a value is written `,,`. */
function optValue(value: string): string {
  return value.replaceAll(",", ",,");
}

function checkConfig(config: VmConfig): void {
  if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > VM_LIMITS.maxCpus) {
    throw new InvalidConfigError(
      "cpus",
      `must be an integer from 1 to ${VM_LIMITS.maxCpus}, got ${config.cpus}`,
    );
  }
  const mem = config.memoryMib;
  if (!Number.isInteger(mem) || mem < VM_LIMITS.minMemoryMib || mem > VM_LIMITS.maxMemoryMib) {
    throw new InvalidConfigError(
      "memoryMib",
      `must be an integer from ${VM_LIMITS.minMemoryMib}, got ${mem}`,
    );
  }
  const ids = new Set<string>();
  for (const disk of config.disks) {
    if (!/^[A-Za-z][\w-]{0,31}$/.test(disk.id) || ids.has(disk.id)) {
      throw new InvalidConfigError("disks.id", `invalid or duplicate drive id ${JSON.stringify(disk.id)}`);
    }
    ids.add(disk.id);
    if (!/^[\w.-]+$/.test(disk.serial) || Buffer.byteLength(disk.serial) > VM_LIMITS.maxSerialBytes) {
      throw new InvalidConfigError("disks.serial", `invalid serial ${JSON.stringify(disk.serial)}`);
    }
  }
  if (config.ramFile && config.shares.length > 0) {
    throw new InvalidConfigError(
      "ramFile",
      "a VM with virtio-fs shares cannot keep its RAM in a template file",
    );
  }
  const tags = new Set<string>();
  for (const share of config.shares) {
    if (!/^[\w-]+$/.test(share.tag) || share.tag.length > VM_LIMITS.maxShareTagBytes || tags.has(share.tag)) {
      throw new InvalidConfigError(
        "shares.tag",
        `invalid or duplicate virtio-fs tag ${JSON.stringify(share.tag)}`,
      );
    }
    tags.add(share.tag);
  }
}

/** The id of the memory backend guest RAM lives in when it is not QEMU's anonymous memory. */
const MEMORY_ID = "mem";

/**
 * The CPU model under TCG: everything QEMU can emulate (`max`, so images built for x86-64-v3 run), but on x86-64
 * without the "fast string" bits (ERMS, FSRM). They only say `rep movsb`/`rep stosb` are fast, and under TCG they
 * are the slowest way to move memory: QEMU 7.2 runs one byte per pass through the instruction's translated block.
 * With them the guest kernel clears and copies pages and user memory that way, and glibc's memcpy and memset pick
 * them for large sizes; without them both use word or vector loops. Measured on the same VM (`max` against this):
 * 300 MB through `dd` to /dev/null 446 against 125-154 ms, 100 MB to tmpfs 550-579 against 270-312 ms, exec
 * output 40 against 100 MB/s, guest fork+exec 3.3 against 2.9 ms; a python start did not change. Software must
 * not rely on these bits, which only tune speed, so nothing that runs on `max` needs them.
 */
function tcgCpuModel(arch: VmConfig["arch"]): string {
  return arch === "x86_64" ? "max,-erms,-fsrm" : "max";
}

function machineArgs(config: VmConfig): string[] {
  // vhost-user (virtiofsd) maps guest RAM itself: it must be a shareable memfd rather than anonymous memory; a
  // template's RAM is a file.
  const memory = config.shares.length > 0 || config.ramFile ? `,memory-backend=${MEMORY_ID}` : "";
  const cpu = ["-cpu", config.accel === "tcg" ? tcgCpuModel(config.arch) : "host"];
  if (config.arch === "x86_64") {
    // microvm: no PCI, no firmware; the Debian kernel finds its virtio-mmio devices through ACPI (on by default),
    // the microvm kernel on its command line (QEMU adds `virtio_mmio.device=` entries when ACPI is off).
    const acpi = config.acpi === false ? ",acpi=off" : "";
    return ["-M", `microvm,x-option-roms=off,isa-serial=on,rtc=on${acpi}${memory}`, ...cpu];
  }
  return ["-M", `virt,gic-version=max${memory}`, ...cpu];
}

/** The shared memory backend and one vhost-user-fs device per share (none without shares). */
function shareArgs(config: VmConfig): string[] {
  if (config.shares.length === 0) return [];
  return [
    // QEMU's virtio-mmio defaults to the legacy (0.9) interface, which virtiofsd's libvhost-user refuses ("virtio
    // legacy devices aren't supported"): the guest mounts, then hangs on the first request. Modern virtio-mmio
    // (1.0) is driven by the same guest drivers for the other devices; only VMs with shares switch.
    "-global",
    "virtio-mmio.force-legacy=false",
    "-object",
    `memory-backend-memfd,id=${MEMORY_ID},size=${config.memoryMib}M,share=on`,
    ...config.shares.flatMap((share: VmShare, i) => [
      "-chardev",
      `socket,id=fs${i},path=${optValue(share.socketPath)}`,
      "-device",
      `vhost-user-fs-device,chardev=fs${i},tag=${share.tag}`,
    ]),
  ];
}

/**
 * The kernel, initramfs and command line, except for a VM restored from a template: its memory and CPU state come
 * from the template, so there is nothing for QEMU to load.
 */
function bootArgs(config: VmConfig): string[] {
  if (config.incoming === true) return [];
  return ["-kernel", config.kernel, "-initrd", config.initrd, "-append", config.cmdline.join(" ")];
}

/** Guest RAM in a template file, and the paused start of a VM restored from one. */
function templateArgs(config: VmConfig): string[] {
  const args: string[] = [];
  if (config.ramFile) {
    const { path, shared } = config.ramFile;
    args.push(
      "-object",
      `memory-backend-file,id=${MEMORY_ID},size=${config.memoryMib}M,mem-path=${optValue(path)},share=${shared ? "on" : "off"}`,
    );
  }
  if (config.incoming === true) args.push("-incoming", "defer");
  return args;
}

function diskArgs(disk: VmDisk): string[] {
  const drive = [
    `file=${optValue(disk.path)}`,
    `format=${disk.format}`,
    "if=none",
    `id=${disk.id}`,
    `readonly=${disk.readonly ? "on" : "off"}`,
    "discard=unmap",
    "detect-zeroes=unmap",
  ];
  if (disk.readonly) drive.splice(drive.indexOf("discard=unmap"), 2);
  return ["-drive", drive.join(","), "-device", `virtio-blk-device,drive=${disk.id},serial=${disk.serial}`];
}

function networkArgs(config: VmConfig): string[] {
  const net = config.network;
  switch (net.kind) {
    case "none":
      return [];
    case "stream":
      return [
        "-netdev",
        `stream,id=net0,server=off,addr.type=unix,addr.path=${optValue(net.socketPath)}`,
        "-device",
        `virtio-net-device,netdev=net0,mac=${net.mac}`,
      ];
  }
}

/**
 * The cap on TCG's translation cache, in MiB. QEMU's default reserves 1 GiB and keeps every page it ever filled:
 * a busy guest's QEMU grew by 100 MB of translated code after a few commands (python imports, a find | gzip), on
 * its way to 1 GiB per sandbox. At 128 MiB such a workload still fits; at 32 MiB python's second run took 1.7x as
 * long (the cache flushed and retranslated), at 64 MiB 1.2x.
 */
export const TCG_TB_SIZE_MIB = 128;

/** Builds the argument vector (without the binary) for `config`. Throws {@link InvalidConfigError}. */
export function buildQemuArgv(config: VmConfig): string[] {
  checkConfig(config);
  return [
    ...machineArgs(config),
    "-accel",
    config.accel === "tcg" ? `tcg,tb-size=${TCG_TB_SIZE_MIB}` : config.accel,
    "-smp",
    String(config.cpus),
    "-m",
    `${config.memoryMib}M`,
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    ...bootArgs(config),
    // The console goes to QEMU's stdout, a pipe its owner reads into a size-bounded log (see MicroVm): a file
    // chardev would let the guest fill the host disk.
    "-chardev",
    "stdio,id=console,signal=off",
    "-serial",
    "chardev:console",
    "-chardev",
    `socket,id=agent,path=${optValue(config.agentSocket)},server=on,wait=off`,
    "-device",
    "virtio-serial-device",
    "-device",
    "virtserialport,chardev=agent,name=agent",
    "-device",
    "virtio-rng-device",
    ...config.disks.flatMap(diskArgs),
    ...shareArgs(config),
    ...templateArgs(config),
    ...networkArgs(config),
    "-qmp",
    `unix:${optValue(config.qmpSocket)},server=on,wait=off`,
  ];
}

/** Options for {@link kernelCmdline}. */
export interface CmdlineOptions {
  readonly arch: VmConfig["arch"];
  readonly accel: VmConfig["accel"];
  /** Host TSC frequency, passed as `tsc_early_khz` under TCG on x86_64 (boots hang at random without it). */
  readonly tscKhz?: number | undefined;
  /**
   * Which kernel boots: the `microvm` kernel takes `lapic_bus_hz=` (its patch in `kernel/patches/`), so under TCG
   * it skips the APIC timer calibration. Default `debian` (nothing added).
   */
  readonly kernelFlavor?: KernelFlavor | undefined;
  /** Keep the guest's address-space randomization under TCG too (`MSB_GUEST_ASLR=1`; see {@link kernelCmdline}). */
  readonly guestAslr?: boolean | undefined;
  readonly extra?: readonly string[];
}

/**
 * The input clock of QEMU's emulated local APIC timer (`APIC_BUS_CYCLE_NS` = 1 ns) under TCG. Under KVM the guest
 * has the TSC deadline timer and needs no calibration, so this is only passed under TCG.
 */
export const QEMU_TCG_APIC_BUS_HZ = 1_000_000_000;

/**
 * The guest kernel command line. Under TCG it carries `norandmaps` (unless `guestAslr`): with QEMU 7.2's TCG, a
 * process whose libraries and PIE binary land at new random addresses does not reuse the translations of that
 * code and has it all translated again. With randomization, 20 runs of a dynamic `/bin/true` added ~50,000
 * translated blocks (HMP `info jit`), without it ~100, and each run took 20.6 against 3.0 ms; a python start
 * 145-246 against 91-108 ms. The VM, not the guest's layout, is the isolation boundary; under KVM nothing
 * is translated and the guest keeps its randomization.
 */
export function kernelCmdline(options: CmdlineOptions): string[] {
  const console = options.arch === "x86_64" ? "console=ttyS0" : "console=ttyAMA0";
  const args = [console, "quiet", "panic=-1", "reboot=t", "random.trust_cpu=on", "rdinit=/init"];
  if (options.arch === "x86_64") {
    // The IO-APIC timer check waits ten ticks for a PIT interrupt that a VM always delivers: ~110-130 ms of every
    // boot under TCG, with either kernel (bare boots, 5 alternating runs).
    args.push("no_timer_check");
    if (options.accel === "tcg") {
      if (options.tscKhz !== undefined) args.push(`tsc_early_khz=${Math.round(options.tscKhz)}`);
      // A one-vCPU guest otherwise rewrites every LOCK prefix of the kernel text to run uniprocessor: under TCG,
      // code that rewrites itself invalidates its translations, 60-70 ms of every boot (either kernel, bare boots
      // timed by the console on the host). Under KVM that patching is quick, and the unlocked atomics worth it.
      args.push("noreplace-smp");
      // Two 100 ms waits of guest time at every boot otherwise: ~240 ms under TCG (microvm kernel, bare boots).
      if (options.kernelFlavor === "microvm") args.push(`lapic_bus_hz=${QEMU_TCG_APIC_BUS_HZ}`);
    }
  }
  if (options.accel === "tcg" && options.guestAslr !== true) args.push("norandmaps");
  return [...args, ...(options.extra ?? [])];
}
