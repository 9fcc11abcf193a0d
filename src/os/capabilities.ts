/** Linux capabilities of this process, as the kernel reports them in /proc/self/status. */
import { readFileSync } from "node:fs";

/** Linux capability number of CAP_SYS_ADMIN (its bit in `CapEff`). */
const CAP_SYS_ADMIN = 21;

/**
 * True when this process has CAP_SYS_ADMIN in its effective set (root usually has; root with a reduced bounding
 * set, or in a container, may not): mounting (loop mounts, virtiofsd's namespaces) needs it. `status` is the
 * text of /proc/self/status (read when omitted); false off Linux.
 */
export function hasSysAdmin(status?: string): boolean {
  if (status === undefined && process.platform !== "linux") return false;
  const text = status ?? readFileSync("/proc/self/status", "utf8");
  const hex = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(text)?.[1];
  if (hex === undefined) return false;
  return ((BigInt(`0x${hex}`) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
}
