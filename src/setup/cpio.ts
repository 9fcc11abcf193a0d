/**
 * Writes cpio archives in the "newc" format (magic `070701`), the format the Linux kernel unpacks as an
 * initramfs (see the kernel's Documentation/driver-api/early-userspace/buffer-format.rst). Entries carry their
 * own mode, owner and device numbers, so device nodes and root-owned files need no privileges on the host.
 */

/** A directory entry. */
export interface CpioDirectory {
  readonly kind: "directory";
  /** Path inside the archive, without a leading `/` (`dev`, `modules`). */
  readonly path: string;
  /** Permission bits (`0o755`); the file type bits are added by the writer. */
  readonly mode: number;
}

/** A regular file entry. */
export interface CpioFile {
  readonly kind: "file";
  readonly path: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

/** A character device node entry (`dev/console` is 5:1). */
export interface CpioCharDevice {
  readonly kind: "chardev";
  readonly path: string;
  readonly mode: number;
  readonly major: number;
  readonly minor: number;
}

/** A symbolic link entry; `target` is stored as the entry's data. */
export interface CpioSymlink {
  readonly kind: "symlink";
  readonly path: string;
  readonly target: string;
}

/** Anything the writer can put in an archive. Parents must be listed before their children. */
export type CpioEntry = CpioDirectory | CpioFile | CpioCharDevice | CpioSymlink;

/** Magic of a newc header without checksums. */
export const NEWC_MAGIC = "070701";
/** Size of a newc header in bytes (magic + 13 eight-digit hex fields). */
export const NEWC_HEADER_SIZE = 110;
/** Name of the entry that ends every archive. */
export const NEWC_TRAILER = "TRAILER!!!";

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
const S_IFLNK = 0o120000;

interface HeaderFields {
  ino: number;
  mode: number;
  nlink: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, "0");
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function header(fields: HeaderFields, mtime: number): Buffer {
  const nameBytes = Buffer.from(`${fields.name}\0`, "utf8");
  const values = [
    fields.ino,
    fields.mode,
    0, // uid: root
    0, // gid: root
    fields.nlink,
    mtime,
    fields.fileSize,
    0, // devmajor of the containing filesystem
    0, // devminor
    fields.rdevMajor,
    fields.rdevMinor,
    nameBytes.length,
    0, // check: unused with 070701
  ];
  const head = Buffer.from(NEWC_MAGIC + values.map(hex8).join(""), "latin1");
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(NEWC_HEADER_SIZE + nameBytes.length))]);
}

function entryFields(entry: CpioEntry, ino: number): { fields: HeaderFields; data: Uint8Array } {
  const base = { ino, name: entry.path.replace(/^\/+/, ""), rdevMajor: 0, rdevMinor: 0 };
  switch (entry.kind) {
    case "directory":
      return {
        fields: { ...base, mode: S_IFDIR | (entry.mode & 0o7777), nlink: 2, fileSize: 0 },
        data: new Uint8Array(),
      };
    case "file":
      return {
        fields: { ...base, mode: S_IFREG | (entry.mode & 0o7777), nlink: 1, fileSize: entry.data.length },
        data: entry.data,
      };
    case "chardev":
      return {
        fields: {
          ...base,
          mode: S_IFCHR | (entry.mode & 0o7777),
          nlink: 1,
          fileSize: 0,
          rdevMajor: entry.major,
          rdevMinor: entry.minor,
        },
        data: new Uint8Array(),
      };
    case "symlink": {
      const data = Buffer.from(entry.target, "utf8");
      return { fields: { ...base, mode: S_IFLNK | 0o777, nlink: 1, fileSize: data.length }, data };
    }
  }
}

/**
 * Serialises `entries` into one newc archive ending with the `TRAILER!!!` entry. Every header and every data
 * block is padded to a multiple of 4 bytes. Owners are root (0:0); inode numbers are assigned from 1.
 *
 * @param mtime - modification time of every entry, in seconds (default 0, for reproducible archives).
 */
export function writeNewcArchive(entries: readonly CpioEntry[], mtime = 0): Buffer {
  const parts: Uint8Array[] = [];
  entries.forEach((entry, i) => {
    const { fields, data } = entryFields(entry, i + 1);
    parts.push(header(fields, mtime), data, Buffer.alloc(pad4(data.length)));
  });
  parts.push(
    header({ ino: 0, mode: 0, nlink: 1, fileSize: 0, rdevMajor: 0, rdevMinor: 0, name: NEWC_TRAILER }, 0),
  );
  return Buffer.concat(parts);
}
