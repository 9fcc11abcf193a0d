/**
 * Where a named volume lives under `<MSB_HOME>/volumes/`. Volume names start with a letter or digit, so the
 * hidden `.<name>.*` entries next to the volumes never clash with another volume's directory.
 */
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";
import type { VolumeKind } from "../store/volume-repository.js";

/** Host paths of one volume. */
export interface VolumePaths {
  /**
   * What `Volume.path` shows: a directory volume's directory (the mount point of its ext4 image when it has a
   * quota), a disk volume's image file.
   */
  readonly path: string;
  /** `volumes/<name>`: the directory of a directory volume; the one holding a disk volume's image. */
  readonly dir: string;
  /** The ext4 image: `volumes/.<name>.ext4` beside a quota directory, `volumes/<name>/disk.ext4` for a disk. */
  readonly image: string;
  /** Serialises mounting a quota directory's image between processes. */
  readonly lock: string;
}

/** Paths of volume `name` of `kind` under `home`. Pure. */
export function volumePaths(home: string, name: string, kind: VolumeKind): VolumePaths {
  const root = msbPaths(home).volumesDir;
  const dir = join(root, name);
  const image = kind === "disk" ? join(dir, "disk.ext4") : join(root, `.${name}.ext4`);
  return { path: kind === "disk" ? image : dir, dir, image, lock: join(root, `.${name}.lock`) };
}
