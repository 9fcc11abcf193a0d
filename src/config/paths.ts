/** Layout of the state directory (`MSB_HOME`, default `~/.microsandbox`). */
import { join } from "node:path";

/** Absolute paths of everything microsandbox keeps under its home directory. */
export interface MsbPaths {
  readonly home: string;
  /** Guest kernel, initramfs and agent built by set-up. */
  readonly kernelDir: string;
  /** SQLite database file. */
  readonly database: string;
  /** Content-addressed layer blobs. */
  readonly layersDir: string;
  /** Per-image artefacts (read-only base root disks). */
  readonly imagesDir: string;
  /** Per-sandbox directories (overlay disk, sockets, logs). */
  readonly sandboxesDir: string;
  /** Named volumes. */
  readonly volumesDir: string;
  /** VM templates: saved VMs new sandboxes are restored from (`src/templates/`). */
  readonly templatesDir: string;
  /**
   * VM run directories (sockets, console and QEMU logs): `run/<12 hex>`, short for the 107-byte socket path
   * limit. A sandbox's is named by its id; one of a VM that is not a sandbox's holds an owner file (`os/owned-dir.ts`).
   */
  readonly runRoot: string;
  /** Scratch space for atomic builds (same filesystem as the rest, so renames are atomic). */
  readonly tmpDir: string;
  /** Whether QEMU can run a KVM vCPU on this host, cached per host boot (`src/vm/kvm-probe.ts`). */
  readonly kvmProbeCache: string;
}

/** Computes the {@link MsbPaths} under `home`. Pure: creates nothing. */
export function msbPaths(home: string): MsbPaths {
  return Object.freeze({
    home,
    kernelDir: join(home, "kernel"),
    database: join(home, "db", "msb.db"),
    layersDir: join(home, "layers"),
    imagesDir: join(home, "images"),
    sandboxesDir: join(home, "sandboxes"),
    volumesDir: join(home, "volumes"),
    templatesDir: join(home, "templates"),
    runRoot: join(home, "run"),
    tmpDir: join(home, "tmp"),
    kvmProbeCache: join(home, "cache", "kvm-probe.json"),
  });
}
