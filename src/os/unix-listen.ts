/**
 * Whether a Unix socket path has a listener, as the kernel reports it in /proc/net/unix, without connecting to
 * it. Connecting would be wrong for daemons that accept exactly one client (virtiofsd, vhost-user backends): a
 * probe connection would take the one slot meant for QEMU.
 */
import { readFileSync } from "node:fs";

/** `__SO_ACCEPTCON`, the flag /proc/net/unix shows for a socket that `listen` was called on. */
const SO_ACCEPTCON = 0x10000;

/**
 * True when `table` (the text of /proc/net/unix) lists a listening socket bound to `path`. Columns: `Num RefCount
 * Protocol Flags Type St Inode Path`; the path is the rest of the line, so a path with spaces still matches.
 */
export function listensIn(table: string, path: string): boolean {
  for (const line of table.split("\n")) {
    const fields =
      /^\s*[0-9a-f]+:\s+[0-9A-F]+\s+[0-9A-F]+\s+([0-9A-F]+)\s+[0-9A-F]+\s+[0-9A-F]+\s+\d+\s(.*)$/.exec(line);
    if (fields === null) continue;
    const [, flags = "0", bound] = fields;
    if (bound === path && (Number.parseInt(flags, 16) & SO_ACCEPTCON) !== 0) return true;
  }
  return false;
}

/**
 * True when some process listens on the Unix socket `path` in this network namespace. `path` must be spelled as
 * the listener bound it (the same absolute path). False when /proc/net/unix cannot be read.
 */
export function unixSocketListens(path: string): boolean {
  let table: string;
  try {
    table = readFileSync("/proc/net/unix", "utf8");
  } catch (err) {
    if (err instanceof Error && "code" in err) return false;
    throw err;
  }
  return listensIn(table, path);
}
