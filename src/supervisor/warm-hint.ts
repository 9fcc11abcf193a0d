/**
 * What a spare supervisor is told to warm (see `spare-vm.ts`): the image and VM shape of its creator's last create.
 * Kept apart from the spare itself, so the SDK that sends it loads nothing of the VM.
 */
import { compilePolicy } from "../net/policy/compile.js";
import type { NewRootDisk, SupervisorSpec } from "./spec.js";

/** What a spare warms: the template of this image and VM shape. Equal hints mean equal template keys. */
export interface WarmHint {
  readonly home: string;
  readonly disk: NewRootDisk;
  readonly cpus: number;
  readonly memoryMib: number;
  /** Whether the sandbox has a NIC (its network policy is not `none`). */
  readonly nic: boolean;
}

/** The hint a spec gives (undefined: a create no spare can serve: no template, or volumes). */
export function warmHintOf(spec: SupervisorSpec): WarmHint | undefined {
  const disk = spec.newRootDisk;
  const mounts = spec.mounts;
  const hasMounts =
    mounts !== undefined && mounts.mounts.length + mounts.shares.length + mounts.disks.length > 0;
  if (disk === undefined || !disk.template || hasMounts) return undefined;
  let nic: boolean;
  try {
    nic = compilePolicy(spec.network ?? {}).preset !== "none";
  } catch (err) {
    if (err instanceof Error) return undefined; // a bad policy fails the create itself, with its own error
    throw err;
  }
  return { home: spec.home, disk, cpus: spec.cpus, memoryMib: spec.memoryMib, nic };
}

/** Whether `value` is a well-formed {@link WarmHint} (it arrives on stdin). */
export function isWarmHint(value: unknown): value is WarmHint {
  const hint = value as Partial<WarmHint> | null;
  return (
    typeof hint === "object" &&
    hint !== null &&
    typeof hint.home === "string" &&
    typeof hint.disk?.imageDigest === "string" &&
    typeof hint.disk.baseDisk === "string" &&
    typeof hint.disk.template === "boolean" &&
    Number.isInteger(hint.cpus) &&
    Number.isInteger(hint.memoryMib) &&
    typeof hint.nic === "boolean"
  );
}

/** Whether two hints ask for the same VM. */
export function sameHint(a: WarmHint, b: WarmHint): boolean {
  return (
    a.home === b.home &&
    a.disk.imageDigest === b.disk.imageDigest &&
    a.disk.baseDisk === b.disk.baseDisk &&
    a.cpus === b.cpus &&
    a.memoryMib === b.memoryMib &&
    a.nic === b.nic
  );
}
