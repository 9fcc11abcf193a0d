/**
 * What a sandbox's `volumes` become at boot: the guest mounts the agent makes after switching into the root disk,
 * the host folders QEMU shares over virtio-fs (one `virtiofsd` each), and the extra virtio-blk disks (disk
 * volumes). The SDK resolves the user's `volumes` config into a {@link MountPlan} (names looked up, paths made
 * absolute, privileges and in-use checked); the supervisor hands it to `MicroVm.boot`, which starts the shares,
 * attaches the disks and sends the guest mounts in `init`. Nothing here touches the host.
 */

/** One mount in the guest, made by the agent after the root switch, in plan order. */
export type GuestMount =
  /** A host folder shared over virtio-fs under `tag` (a {@link HostShare} with the same tag). */
  | {
      readonly kind: "virtiofs";
      readonly target: string;
      readonly tag: string;
      readonly readonly: boolean;
    }
  /** An ext4 disk (a {@link ExtraDisk} with the same serial). */
  | {
      readonly kind: "disk";
      readonly target: string;
      readonly serial: string;
      readonly readonly: boolean;
    }
  /** An in-guest tmpfs, bounded by `sizeMib` when given. */
  | {
      readonly kind: "tmpfs";
      readonly target: string;
      readonly sizeMib?: number;
      readonly readonly: boolean;
    };

/** A host folder shared with the guest by a `virtiofsd` the VM starts; read-only is enforced on the host. */
export interface HostShare {
  /** virtio-fs tag the guest mounts by (at most 36 bytes: letters, digits, `_`, `-`). */
  readonly tag: string;
  /** Absolute host path of an existing directory. */
  readonly hostPath: string;
  readonly readonly: boolean;
}

/** A disk volume: a raw ext4 image attached as virtio-blk. */
export interface ExtraDisk {
  /** Absolute host path of the image. */
  readonly path: string;
  /** virtio-blk serial the agent finds it by (at most 20 bytes). */
  readonly serial: string;
  readonly readonly: boolean;
}

/** Everything a sandbox's `volumes` need at boot. */
export interface MountPlan {
  readonly mounts: readonly GuestMount[];
  readonly shares: readonly HostShare[];
  readonly disks: readonly ExtraDisk[];
}

/** A plan with nothing in it. */
export const EMPTY_MOUNT_PLAN: MountPlan = Object.freeze({ mounts: [], shares: [], disks: [] });
