/**
 * A qcow2 (version 3) file with a backing file and no data of its own, written in-process: what
 * `qemu-img create -f qcow2 -b BASE -F FMT` makes, without starting a process (~8 ms, more while QEMU and the
 * supervisor start on the same cores). Layout, in 64 KiB clusters: the header (with the backing format extension
 * and the backing file's name), the refcount table, one refcount block (16-bit counts), then the L1 table, all
 * zero: every read goes to the backing file until the guest writes.
 */

/** qcow2's magic, "QFI\xfb". */
const MAGIC = 0x514649fb;
const CLUSTER_BITS = 16;
const CLUSTER_SIZE = 1 << CLUSTER_BITS;
/** Bytes of guest disk one L1 entry maps: an L2 table of 8-byte entries, each mapping one cluster. */
const L1_ENTRY_SPAN = (CLUSTER_SIZE / 8) * CLUSTER_SIZE;
/** Version 3 header length, up to and including the compression type byte and its padding. */
const HEADER_LENGTH = 112;
/** Header extension: the backing file's format. */
const EXT_BACKING_FORMAT = 0xe2792aca;
/** The qcow2 limit on the backing file name. */
export const MAX_BACKING_NAME_BYTES = 1023;
/** 16-bit refcounts: one refcount block counts this many clusters. */
const REFCOUNTS_PER_BLOCK = CLUSTER_SIZE / 2;

/** What {@link qcow2Overlay} encodes. */
export interface Qcow2OverlaySpec {
  /** The backing file's name as stored: absolute, or relative to the overlay's directory. */
  readonly backingFile: string;
  readonly backingFormat: "raw" | "qcow2";
  /** Virtual disk size in bytes (rounded up to 512, as qemu-img does). */
  readonly virtualSizeBytes: number;
}

/** The bytes of an empty qcow2 overlay on `spec.backingFile`. Throws RangeError on an unusable spec. */
export function qcow2Overlay(spec: Qcow2OverlaySpec): Buffer {
  const name = Buffer.from(spec.backingFile, "utf8");
  if (name.length === 0 || name.length > MAX_BACKING_NAME_BYTES)
    throw new RangeError(
      `a qcow2 backing file name is 1 to ${MAX_BACKING_NAME_BYTES} bytes, got ${name.length}`,
    );
  if (!Number.isSafeInteger(spec.virtualSizeBytes) || spec.virtualSizeBytes <= 0)
    throw new RangeError(`a disk's virtual size is a positive integer, got ${spec.virtualSizeBytes}`);
  const size = Math.ceil(spec.virtualSizeBytes / 512) * 512;
  const l1Entries = Math.ceil(size / L1_ENTRY_SPAN);
  const l1Clusters = Math.ceil((l1Entries * 8) / CLUSTER_SIZE);
  const clusters = 3 + l1Clusters; // header, refcount table, refcount block, L1
  if (clusters > REFCOUNTS_PER_BLOCK) throw new RangeError(`a virtual size of ${size} bytes is too large`);
  const format = Buffer.from(spec.backingFormat, "ascii");
  const extensions = 8 + align8(format.length) + 8; // backing format, end of extensions
  const nameOffset = HEADER_LENGTH + extensions;

  const l1Offset = 3 * CLUSTER_SIZE;
  const file = Buffer.alloc(l1Offset + l1Entries * 8);
  file.writeUInt32BE(MAGIC, 0);
  file.writeUInt32BE(3, 4); // version
  file.writeBigUInt64BE(BigInt(nameOffset), 8);
  file.writeUInt32BE(name.length, 16);
  file.writeUInt32BE(CLUSTER_BITS, 20);
  file.writeBigUInt64BE(BigInt(size), 24);
  file.writeUInt32BE(0, 32); // no encryption
  file.writeUInt32BE(l1Entries, 36);
  file.writeBigUInt64BE(BigInt(l1Offset), 40);
  file.writeBigUInt64BE(BigInt(CLUSTER_SIZE), 48); // refcount table
  file.writeUInt32BE(1, 56); // refcount table clusters
  // 60: no snapshots; 64: snapshots offset; 72, 80, 88: no incompatible, compatible or autoclear features.
  file.writeUInt32BE(4, 96); // refcount order: 16-bit refcounts
  file.writeUInt32BE(HEADER_LENGTH, 100);
  // 104: compression type zlib (0), then padding to HEADER_LENGTH.
  let at = HEADER_LENGTH;
  file.writeUInt32BE(EXT_BACKING_FORMAT, at);
  file.writeUInt32BE(format.length, at + 4);
  format.copy(file, at + 8);
  at += 8 + align8(format.length);
  at += 8; // end of extensions: type 0, length 0
  name.copy(file, at);

  file.writeBigUInt64BE(BigInt(2 * CLUSTER_SIZE), CLUSTER_SIZE); // the one refcount block
  for (let cluster = 0; cluster < clusters; cluster++) file.writeUInt16BE(1, 2 * CLUSTER_SIZE + cluster * 2);
  return file;
}

/** The virtual size recorded in a qcow2 header (its first 32 bytes), or undefined when it is not one. */
export function qcow2VirtualSize(header: Buffer): number | undefined {
  if (header.length < 32 || header.readUInt32BE(0) !== MAGIC) return undefined;
  const size = header.readBigUInt64BE(24);
  return size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : undefined;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
