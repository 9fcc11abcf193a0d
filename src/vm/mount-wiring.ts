/**
 * What `MicroVm.boot` does with a {@link MountPlan} on the host: checks it hangs together, turns its disks into
 * virtio-blk drives, and starts (and stops) one `virtiofsd` per shared folder.
 */
import { dirname, join } from "node:path";
import { InvalidConfigError, RuntimeNotInstalledError } from "../errors.js";
import type { LogLimits } from "../logs/rotating-writer.js";
import type { HostShare, MountPlan } from "../storage/mount-plan.js";
import type { CpuPin } from "./cpu-pin.js";
import type { VmDisk } from "./config.js";
import { VM_LIMITS } from "./config.js";
import { Virtiofsd, checkVirtiofsdPrivilege, findVirtiofsd } from "./virtiofsd.js";

/** The serial of the root disk: no extra disk may take it. */
const ROOT_SERIAL = "root";

/**
 * Checks that every virtiofs mount has its share and every disk mount its disk (by tag / serial), that tags and
 * serials are unique and well-formed, and that nothing is left over. Throws {@link InvalidConfigError} naming
 * the part (`mounts[1].tag`).
 */
export function checkMountPlan(plan: MountPlan): void {
  const tags = new Set<string>();
  plan.shares.forEach((share, i) => {
    if (!/^[\w-]+$/.test(share.tag) || share.tag.length > VM_LIMITS.maxShareTagBytes || tags.has(share.tag)) {
      throw new InvalidConfigError(
        `shares[${i}].tag`,
        `invalid or duplicate tag ${JSON.stringify(share.tag)}`,
      );
    }
    if (!share.hostPath.startsWith("/")) {
      throw new InvalidConfigError(`shares[${i}].hostPath`, `must be absolute, got ${share.hostPath}`);
    }
    tags.add(share.tag);
  });
  const serials = new Set<string>();
  plan.disks.forEach((disk, i) => {
    const ok = /^[\w.-]+$/.test(disk.serial) && Buffer.byteLength(disk.serial) <= VM_LIMITS.maxSerialBytes;
    if (!ok || disk.serial === ROOT_SERIAL || serials.has(disk.serial)) {
      throw new InvalidConfigError(
        `disks[${i}].serial`,
        `invalid or duplicate serial ${JSON.stringify(disk.serial)}`,
      );
    }
    serials.add(disk.serial);
  });
  const usedTags = new Set<string>();
  const usedSerials = new Set<string>();
  plan.mounts.forEach((mount, i) => {
    if (mount.kind === "virtiofs") {
      if (!tags.has(mount.tag))
        throw new InvalidConfigError(`mounts[${i}].tag`, `no share has tag ${mount.tag}`);
      usedTags.add(mount.tag);
    } else if (mount.kind === "disk") {
      if (!serials.has(mount.serial)) {
        throw new InvalidConfigError(`mounts[${i}].serial`, `no disk has serial ${mount.serial}`);
      }
      usedSerials.add(mount.serial);
    }
  });
  for (const tag of tags) {
    if (!usedTags.has(tag)) throw new InvalidConfigError("shares", `share ${tag} is not mounted`);
  }
  for (const serial of serials) {
    if (!usedSerials.has(serial)) throw new InvalidConfigError("disks", `disk ${serial} is not mounted`);
  }
}

/** The plan's disks as raw virtio-blk drives `vol0`, `vol1`... */
export function extraDisks(plan: MountPlan): VmDisk[] {
  return plan.disks.map((disk, i) => ({
    id: `vol${i}`,
    path: disk.path,
    format: "raw",
    readonly: disk.readonly,
    serial: disk.serial,
  }));
}

/** Where share `i` puts its socket and its log. */
export function shareFiles(runDir: string, consoleLog: string, i: number): { socket: string; log: string } {
  return { socket: join(runDir, `fs${i}.sock`), log: join(dirname(consoleLog), `virtiofsd-${i}.log`) };
}

/** The running `virtiofsd`s of one VM (share `i` listens on `shareFiles(...).socket`). */
export class ShareSet {
  private readonly daemons: readonly Virtiofsd[];

  private constructor(daemons: readonly Virtiofsd[]) {
    this.daemons = daemons;
  }

  /** No shares: nothing runs. */
  static readonly EMPTY = new ShareSet([]);

  /**
   * Starts one virtiofsd per share, each ready (socket created) before this resolves. On any failure the ones
   * already started are killed before the error is thrown: nothing is left behind. Throws
   * {@link PrivilegeRequiredError} without CAP_SYS_ADMIN, {@link RuntimeNotInstalledError} without virtiofsd.
   */
  static async start(
    shares: readonly HostShare[],
    where: {
      runDir: string;
      consoleLog: string;
      logLimits: LogLimits;
      binary?: string | undefined;
      cpuPin?: CpuPin | undefined;
    },
  ): Promise<ShareSet> {
    if (shares.length === 0) return ShareSet.EMPTY;
    checkVirtiofsdPrivilege();
    const binary = findVirtiofsd(where.binary);
    if (binary === undefined) {
      throw new RuntimeNotInstalledError(
        "virtiofsd is not installed (bind mounts and directory volumes need it): package qemu-system-common",
        { hint: "install QEMU's system package, or set MSB_VIRTIOFSD to a virtiofsd binary" },
      );
    }
    const daemons: Virtiofsd[] = [];
    try {
      for (const [i, share] of shares.entries()) {
        const files = shareFiles(where.runDir, where.consoleLog, i);
        daemons.push(
          await Virtiofsd.start({
            binary,
            hostPath: share.hostPath,
            readonly: share.readonly,
            socketPath: files.socket,
            logPath: files.log,
            logLimits: where.logLimits,
            cpuPin: where.cpuPin,
          }),
        );
      }
    } catch (err) {
      await Promise.all(daemons.map((d) => d.kill()));
      throw err;
    }
    return new ShareSet(daemons);
  }

  /** Resolves with the index of the first daemon to exit, for whatever reason (never, without shares). */
  firstExit(): Promise<number> {
    if (this.daemons.length === 0) return new Promise<number>(() => undefined);
    return Promise.race(this.daemons.map(async (d, i) => d.exited.then(() => i)));
  }

  /** Kills every daemon and waits until all are gone. */
  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.kill()));
  }
}
