/**
 * Lays out the guest initramfs: the agent as `/init`, the kernel modules it loads first, and the empty mount
 * points it uses before switching into the image's root filesystem.
 */
import { gzipSync } from "node:zlib";
import { writeNewcArchive, type CpioEntry } from "./cpio.js";

/** How the initramfs archive is compressed. The Debian cloud kernel accepts both (`CONFIG_RD_GZIP=y`). */
export type InitrdCompression = "none" | "gzip";

/**
 * The compression install() uses. Measured under TCG (cloud kernel, PVH vmlinux, microvm, 2.9 MB archive):
 * the kernel unpacked the plain archive in ~110 ms of guest time against ~190 ms for gzip level 1 (1.4 MB),
 * because inflate runs emulated while QEMU copies the raw file into guest RAM at host speed. The cost is a
 * couple of megabytes on disk.
 */
export const DEFAULT_INITRD_COMPRESSION: InitrdCompression = "none";

/** A kernel module to put in the initramfs. */
export interface InitramfsModule {
  /** File name inside `/modules/` and on its line of `/modules/order` (`virtio-rng.ko`). */
  readonly fileName: string;
  readonly data: Uint8Array;
}

/** What goes into the initramfs. */
export interface InitramfsContents {
  /** The static guest agent: becomes `/init`. */
  readonly init: Uint8Array;
  /** Modules loaded at every boot, in load order (`/modules/order`). */
  readonly modules: readonly InitramfsModule[];
  /** Modules loaded only for a virtio-fs mount, in load order (`/modules/virtiofs.order`). */
  readonly virtiofsModules?: readonly InitramfsModule[];
}

/** Directories every initramfs has, with their modes. */
export const INITRAMFS_DIRECTORIES: readonly { readonly path: string; readonly mode: number }[] =
  Object.freeze([
    { path: "dev", mode: 0o755 },
    { path: "proc", mode: 0o555 },
    { path: "sys", mode: 0o555 },
    { path: "newroot", mode: 0o755 },
    { path: "tmp", mode: 0o1777 },
    { path: "modules", mode: 0o755 },
  ]);

/** The file name install() gives the initramfs for a compression. */
export function initrdFileName(compression: InitrdCompression): string {
  return compression === "gzip" ? "initramfs.cpio.gz" : "initramfs.cpio";
}

/**
 * The archive entries, parents first: the directories, `/dev/console` (char 5:1, so the kernel can give `/init`
 * a console before devtmpfs is mounted), `/init` (mode 0755), `/modules/order`, `/modules/virtiofs.order` and
 * `/modules/<file>.ko`.
 */
export function initramfsEntries(contents: InitramfsContents): CpioEntry[] {
  const list = (modules: readonly InitramfsModule[]): Buffer =>
    Buffer.from(modules.map((m) => `${m.fileName}\n`).join(""), "utf8");
  const virtiofs = contents.virtiofsModules ?? [];
  return [
    ...INITRAMFS_DIRECTORIES.map((d): CpioEntry => ({ kind: "directory", path: d.path, mode: d.mode })),
    { kind: "chardev", path: "dev/console", mode: 0o600, major: 5, minor: 1 },
    { kind: "file", path: "init", mode: 0o755, data: contents.init },
    { kind: "file", path: "modules/order", mode: 0o644, data: list(contents.modules) },
    { kind: "file", path: "modules/virtiofs.order", mode: 0o644, data: list(virtiofs) },
    ...[...contents.modules, ...virtiofs].map((m): CpioEntry => ({
      kind: "file",
      path: `modules/${m.fileName}`,
      mode: 0o644,
      data: m.data,
    })),
  ];
}

/** Builds the initramfs image: a newc cpio archive, gzip-compressed (level 1) when `compression` is `gzip`. */
export function buildInitramfs(contents: InitramfsContents, compression: InitrdCompression): Buffer {
  const archive = writeNewcArchive(initramfsEntries(contents));
  return compression === "gzip" ? gzipSync(archive, { level: 1 }) : archive;
}
