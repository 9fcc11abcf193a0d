/**
 * Named volumes, as the seed's `Volume` and `VolumeHandle`, with two kinds: a **directory** volume (default: a host
 * directory shared over virtio-fs with any number of sandboxes at once, visible on the host at `path`; with
 * `quotaMib`, a loop-mounted ext4 image, which needs root) and a **disk** volume (a sparse ext4 image attached as
 * virtio-blk: fastest; one writer, or any number of read-only users, at a time). `quotaMib` is a hard limit for
 * both: a write past it fails in the guest with ENOSPC.
 */
import { readEnv } from "../config/env.js";
import { msbPaths } from "../config/paths.js";
import { Store } from "../store/store.js";
import type { VolumeKind, VolumeRecord } from "../store/volume-repository.js";
import { createVolume, openVolume, removeVolume, volumeUsedBytes } from "../storage/volume-host.js";
import type { VolumeHostContext } from "../storage/volume-host.js";
import { volumePaths } from "../storage/volume-paths.js";
import { validateVolumeSpec } from "../storage/volume-rules.js";

/** Options of `Volume.create`. */
export interface VolumeConfig {
  /** Unique name: 1-63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
  readonly name: string;
  /**
   * Hard limit in MiB (8 to 1048576). A directory volume has none unless given (and needs root with one); a disk
   * volume's size defaults to 1024 MiB (sparse: only what is written takes host space).
   */
  readonly quotaMib?: number;
  /** Free-form labels, kept with the volume. */
  readonly labels?: Readonly<Record<string, string>>;
  /** `"directory"` (default) or `"disk"`. */
  readonly kind?: VolumeKind;
}

async function withVolumes<T>(fn: (ctx: VolumeHostContext) => Promise<T>): Promise<T> {
  const env = readEnv();
  const store = Store.open({ path: msbPaths(env.home).database });
  try {
    return await fn({ store, home: env.home, searchPath: env.searchPath });
  } finally {
    store.close();
  }
}

async function toHandle(ctx: VolumeHostContext, record: VolumeRecord): Promise<VolumeHandle> {
  const usedBytes = await volumeUsedBytes(ctx, record);
  return new VolumeHandle(record, volumePaths(ctx.home, record.name, record.kind).path, usedBytes);
}

/** A named volume's details, read when the handle was made (`usedBytes` is measured then). */
export class VolumeHandle {
  readonly #record: VolumeRecord;
  readonly #path: string;
  readonly #usedBytes: number;

  /** @internal */
  constructor(record: VolumeRecord, path: string, usedBytes: number) {
    this.#record = record;
    this.#path = path;
    this.#usedBytes = usedBytes;
  }

  /** The volume's name. */
  get name(): string {
    return this.#record.name;
  }

  /** `directory` or `disk`. */
  get kind(): VolumeKind {
    return this.#record.kind;
  }

  /** The hard limit in MiB (a disk's size); undefined for a directory volume without a quota. */
  get quotaMib(): number | undefined {
    return this.#record.quotaMib;
  }

  /**
   * Bytes its contents use, measured when the handle was made: the filesystem's own count for a quota directory
   * or a disk (for a disk mounted by a running sandbox, as of the guest's last write-back), a walk of a plain
   * directory.
   */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** Labels given at creation. */
  get labels(): Readonly<Record<string, string>> {
    return this.#record.labels;
  }

  /** Creation time, ms since the epoch. */
  get createdAt(): number {
    return this.#record.createdAt;
  }

  /** Host path: the directory of a directory volume, the image file of a disk volume. */
  get path(): string {
    return this.#path;
  }

  /** Removes the volume (`VolumeInUseError` while sandboxes reference it). */
  remove(): Promise<void> {
    return Volume.remove(this.name);
  }
}

/** A named volume: `Volume.create` makes one; `Mount.named(volume.name)` mounts it in a sandbox. */
export class Volume {
  readonly #name: string;
  readonly #path: string;

  private constructor(name: string, path: string) {
    this.#name = name;
    this.#path = path;
  }

  /** The volume's name. */
  get name(): string {
    return this.#name;
  }

  /** Host path: the directory of a directory volume, the image file of a disk volume. */
  get path(): string {
    return this.#path;
  }

  /**
   * Creates a named volume. Atomic: on failure nothing is left; of two processes creating the same name, one
   * wins and the other gets `VolumeAlreadyExistsError`. A directory volume with `quotaMib` needs root
   * (`PrivilegeRequiredError` otherwise).
   */
  static async create(config: VolumeConfig): Promise<Volume> {
    const spec = validateVolumeSpec(config);
    return withVolumes(async (ctx) => {
      const record = await createVolume(ctx, spec);
      return new Volume(record.name, volumePaths(ctx.home, record.name, record.kind).path);
    });
  }

  /** The handle of a named volume (`VolumeNotFoundError` if there is none). */
  static get(name: string): Promise<VolumeHandle> {
    return withVolumes(async (ctx) => toHandle(ctx, await openVolume(ctx, name)));
  }

  /** Every named volume, by name. */
  static list(): Promise<VolumeHandle[]> {
    return withVolumes(async (ctx) => {
      const handles: VolumeHandle[] = [];
      for (const record of ctx.store.volumes.list()) handles.push(await toHandle(ctx, record));
      return handles;
    });
  }

  /**
   * Removes a named volume and its data. `VolumeInUseError` (naming them) while any sandbox, running or stopped,
   * references it: remove those first.
   */
  static remove(name: string): Promise<void> {
    return withVolumes((ctx) => removeVolume(ctx, name));
  }
}
