/**
 * Loop mounts on the host, for directory volumes with a quota. Why a loop-mounted image: a hard limit must hold
 * where the guest cannot lift it, and virtiofsd (7.2) has no quota of its own; project quotas would depend on the
 * host filesystem (ext4/xfs with prjquota, mounted so) and cannot be assumed. A sparse ext4 image mounted on the
 * volume's directory works on any host filesystem, costs only what is written, and `statvfs` gives the real usage.
 * Mounting needs root (CAP_SYS_ADMIN): without it, a {@link PrivilegeRequiredError}.
 */
import { readFileSync, realpathSync } from "node:fs";
import { PrivilegeRequiredError, SetupError } from "../errors.js";
import { describeToolFailure, runTool } from "../image/tool.js";
import { hasSysAdmin } from "../os/capabilities.js";

/** The privilege a quota directory needs, as errors name it. */
export const LOOP_MOUNT_PRIVILEGE =
  "root (CAP_SYS_ADMIN) to loop-mount the volume's ext4 image (mount -o loop)";

/** Decodes the octal escapes (`\040` for a space...) of a /proc/self/mountinfo field. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mount points listed in a mountinfo text (field 5 of each line). */
export function mountPointsOf(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) points.add(unescapeMountField(field));
  }
  return points;
}

/** True when `dir` is a mount point in this process's mount namespace. */
export function isMountPoint(dir: string): boolean {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  return mountPointsOf(readFileSync("/proc/self/mountinfo", "utf8")).has(real);
}

/** Throws {@link PrivilegeRequiredError} (naming the privilege) unless this process may loop-mount. */
export function requireMountPrivilege(what: string): void {
  if (!hasSysAdmin()) throw new PrivilegeRequiredError(LOOP_MOUNT_PRIVILEGE, what);
}

/** Mounts the ext4 `image` on `dir` through a loop device (freed again at unmount). */
export async function mountLoop(image: string, dir: string): Promise<void> {
  requireMountPrivilege(`cannot mount the quota volume at ${dir}`);
  const args = ["-t", "ext4", "-o", "loop,nosuid,nodev,noatime", image, dir];
  const result = await runTool("mount", { args, timeoutMs: 60_000, maxOutputBytes: 64 * 1024 });
  if (result.code !== 0)
    throw new SetupError(`cannot mount ${image} on ${dir}: ${describeToolFailure("mount", result)}`);
}

/** Unmounts `dir` (a quota volume's mount), if it is mounted. */
export async function unmountIfMounted(dir: string): Promise<void> {
  if (!isMountPoint(dir)) return;
  requireMountPrivilege(`cannot unmount the quota volume at ${dir}`);
  const result = await runTool("umount", { args: [dir], timeoutMs: 60_000, maxOutputBytes: 64 * 1024 });
  if (result.code !== 0)
    throw new SetupError(`cannot unmount ${dir}: ${describeToolFailure("umount", result)}`);
}
