/** A complete, valid install manifest for the set-up tests (override fields with spreads). */
import type { Manifest } from "../manifest.js";

/** The sample. */
export const SAMPLE_MANIFEST: Manifest = {
  schema: 1,
  arch: "x86_64",
  installedAt: "2026-01-01T00:00:00.000Z",
  kernel: {
    file: "vmlinux",
    format: "pvh-vmlinux",
    version: "6.1.0-56-cloud-amd64",
    package: "linux-image-6.1.0-56-cloud-amd64",
    packageVersion: "6.1.192-2",
    aptListsStamp: "0123456789abcdef",
    size: 3,
  },
  modules: { requested: ["virtio_blk"], files: ["virtio.ko", "virtio_blk.ko"], virtiofs: ["fuse.ko"] },
  initrd: { file: "initramfs.cpio", compression: "none", size: 4 },
  agent: { file: "agent", sourceHash: "ab", goVersion: "go1.19.8", size: 5 },
  qemu: { binary: "/usr/bin/qemu-system-x86_64", version: "7.2.22" },
};
