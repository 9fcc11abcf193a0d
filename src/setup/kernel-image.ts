/**
 * Turns the kernel file of a Debian package (`boot/vmlinuz-*`) into what QEMU boots fastest: on x86_64 the
 * uncompressed vmlinux inside the bzImage, booted through its Xen PVH entry note (no decompression under
 * emulation); on arm64 the uncompressed `Image`.
 */
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { SetupError } from "../errors.js";
import type { ArchProfile } from "./arch.js";
import { EM_X86_64, elfNotes, hasElfMagic, parseElf } from "./elf.js";
import { findExecutable, run } from "./exec.js";
import type { KernelFormat } from "./types.js";

const gunzipAsync = promisify(gunzip);

/** Compression formats the Linux boot image can use. */
export type KernelCompression = "gzip" | "lz4" | "xz" | "zstd" | "bzip2" | "lzma" | "lzo";

/** Xen ELF note type of the 32-bit PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`). */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

const MAGICS: readonly { readonly compression: KernelCompression; readonly bytes: readonly number[] }[] = [
  { compression: "gzip", bytes: [0x1f, 0x8b] },
  { compression: "lz4", bytes: [0x02, 0x21, 0x4c, 0x18] }, // LZ4 legacy frame
  { compression: "xz", bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: "zstd", bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { compression: "bzip2", bytes: [0x42, 0x5a, 0x68] },
  { compression: "lzo", bytes: [0x89, 0x4c, 0x5a, 0x4f] },
  { compression: "lzma", bytes: [0x5d, 0x00, 0x00] },
];

/** Command and arguments that decompress each format from stdin to stdout (gzip is done with node:zlib). */
const DECOMPRESSORS: Readonly<Record<Exclude<KernelCompression, "gzip">, readonly [string, ...string[]]>> = {
  lz4: ["lz4", "-dc"],
  xz: ["xz", "-dc"],
  zstd: ["zstd", "-dc"],
  bzip2: ["bzip2", "-dc"],
  lzma: ["xz", "--format=lzma", "-dc"],
  lzo: ["lzop", "-dc"],
};

/** The compression format `data` starts with, by magic number, or `undefined`. */
export function detectCompression(data: Uint8Array): KernelCompression | undefined {
  return MAGICS.find((m) => m.bytes.every((b, i) => data[i] === b))?.compression;
}

/**
 * The compressed kernel inside an x86 bzImage, located through the boot protocol header (`HdrS`, version >= 2.08):
 * it starts `payload_offset` bytes after the real-mode setup and is `payload_length` bytes long.
 *
 * @throws SetupError when `data` is not a bzImage with a payload header.
 */
export function bzImagePayload(data: Uint8Array): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 0x250 || view.getUint32(0x202, true) !== 0x53726448) {
    throw new SetupError("the kernel image is not an x86 bzImage (no HdrS boot header)");
  }
  const version = view.getUint16(0x206, true);
  if (version < 0x208)
    throw new SetupError(`bzImage boot protocol ${version.toString(16)} has no payload fields`);
  const setupSectors = data[0x1f1] === 0 ? 4 : (data[0x1f1] ?? 4);
  const start = (setupSectors + 1) * 512 + view.getUint32(0x248, true);
  const length = view.getUint32(0x24c, true);
  if (start + length > data.length) throw new SetupError("bzImage payload extends past the end of the file");
  return data.subarray(start, start + length);
}

/** True when `vmlinux` is an ELF carrying the Xen PVH entry note, which QEMU needs to boot it directly. */
export function hasPvhEntryNote(vmlinux: Uint8Array): boolean {
  const notes = elfNotes(vmlinux, parseElf(vmlinux, "vmlinux"));
  return notes.some((n) => n.name === "Xen" && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
}

async function decompress(payload: Uint8Array, compression: KernelCompression): Promise<Buffer> {
  if (compression === "gzip") return gunzipAsync(payload);
  const [tool, ...args] = DECOMPRESSORS[compression];
  const binary = findExecutable(tool);
  if (binary === undefined)
    throw new SetupError(`${tool} is not installed (needed to unpack a ${compression} kernel)`);
  // Every format but gzip is followed by the uncompressed size as a little-endian u32 (the kernel's size_append).
  const body = payload.subarray(0, payload.length - 4);
  const expected = Buffer.from(payload.subarray(payload.length - 4)).readUInt32LE(0);
  const { stdout } = await run(binary, args, { input: body });
  if (stdout.length !== expected) {
    throw new SetupError(`${tool} produced ${stdout.length} bytes, the image header says ${expected}`);
  }
  return stdout;
}

/**
 * Extracts the uncompressed vmlinux from an x86_64 bzImage and checks it is an x86-64 ELF with the PVH entry note.
 *
 * @throws SetupError saying why when any step fails (unknown compression, missing tool, not ELF, no PVH note).
 */
export async function extractPvhVmlinux(bzImage: Uint8Array): Promise<Buffer> {
  const payload = bzImagePayload(bzImage);
  const compression = detectCompression(payload);
  if (compression === undefined) throw new SetupError("unknown compression of the bzImage payload");
  const vmlinux = await decompress(payload, compression);
  if (!hasElfMagic(vmlinux))
    throw new SetupError(`the ${compression}-decompressed kernel is not an ELF file`);
  if (parseElf(vmlinux, "vmlinux").machine !== EM_X86_64)
    throw new SetupError("vmlinux is not an x86-64 ELF");
  if (!hasPvhEntryNote(vmlinux))
    throw new SetupError("vmlinux has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
  return vmlinux;
}

/** The arm64 `Image` from a Debian arm64 `vmlinuz` (a gzip-compressed Image), checked by its `ARM\x64` magic. */
export async function arm64Image(vmlinuz: Uint8Array): Promise<Buffer> {
  const image = detectCompression(vmlinuz) === "gzip" ? await gunzipAsync(vmlinuz) : Buffer.from(vmlinuz);
  if (image.length < 64 || image.readUInt32LE(56) !== 0x644d5241) {
    throw new SetupError("the arm64 kernel is not an Image (no ARM\\x64 magic at offset 56)");
  }
  return image;
}

/** A kernel ready to boot. */
export interface PreparedKernel {
  readonly data: Uint8Array;
  readonly format: KernelFormat;
}

/**
 * Prepares the packaged kernel for QEMU: x86_64 tries the PVH vmlinux and falls back to the bzImage (saying why
 * through `log`); arm64 yields the uncompressed Image.
 */
export async function prepareKernel(
  vmlinuz: Uint8Array,
  profile: ArchProfile,
  log: (line: string) => void,
): Promise<PreparedKernel> {
  if (profile.arch === "aarch64") return { data: await arm64Image(vmlinuz), format: "image" };
  try {
    return { data: await extractPvhVmlinux(vmlinuz), format: "pvh-vmlinux" };
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    log(`could not extract a PVH vmlinux (${err.message}); using the bzImage, which boots slower under TCG`);
    return { data: vmlinuz, format: "bzimage" };
  }
}
