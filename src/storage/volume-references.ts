/**
 * Which sandboxes reference a named volume, read from their stored configs (`volumes: { "/data": { named } }`).
 * A volume is referenced by every sandbox whose config names it, running or stopped (as docker does); removing it
 * is refused while there is one.
 */
import type { Store } from "../store/store.js";
import { isLive } from "../store/sandbox-status.js";
import type { SandboxStatus } from "../store/sandbox-status.js";

/** One sandbox's use of a volume. */
export interface VolumeReference {
  readonly sandbox: string;
  /** The sandbox incarnation (row id). */
  readonly id: string;
  readonly status: SandboxStatus;
  /** Every mount of the volume in that sandbox is read-only. */
  readonly readonly: boolean;
}

/** The named mounts of a stored config JSON: volume name → read-only (false if any mount of it is writable). */
export function namedMountsOf(configJson: string): Map<string, boolean> {
  const found = new Map<string, boolean>();
  const config = JSON.parse(configJson) as { volumes?: unknown };
  const volumes = config.volumes;
  if (typeof volumes !== "object" || volumes === null) return found;
  for (const mount of Object.values(volumes as Record<string, unknown>)) {
    if (typeof mount !== "object" || mount === null) continue;
    const { named, readonly } = mount as { named?: unknown; readonly?: unknown };
    if (typeof named !== "string") continue;
    found.set(named, (found.get(named) ?? true) && readonly === true);
  }
  return found;
}

/** Every sandbox referencing volume `name`, oldest first. */
export function volumeReferences(store: Store, name: string): VolumeReference[] {
  const references: VolumeReference[] = [];
  for (const record of store.sandboxes.list()) {
    const readonly = namedMountsOf(record.configJson).get(name);
    if (readonly === undefined) continue;
    references.push({ sandbox: record.name, id: record.id, status: record.status, readonly });
  }
  return references;
}

/**
 * The sandboxes (other than incarnation `selfId`) whose use of a disk volume conflicts with a new use: a disk has
 * one writer at a time, and no reader while it has a writer (a read-only ext4 mount of a filesystem another
 * kernel is writing sees it torn). Read-only users together are fine. Only live sandboxes (booting, running,
 * stopping) hold a disk: a stopped one has unmounted it.
 */
export function diskConflicts(store: Store, name: string, selfId: string, readonly: boolean): string[] {
  return volumeReferences(store, name)
    .filter((ref) => ref.id !== selfId && isLive(ref.status) && !(readonly && ref.readonly))
    .map((ref) => ref.sandbox);
}
