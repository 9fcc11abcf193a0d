/**
 * Saving and restoring a VM's device state over QMP migration, for VM templates. Guest RAM is not in the
 * stream: it lives in a file-backed memory backend (`VmConfig.ramFile`), skipped with the `x-ignore-shared`
 * capability. The VM a template is made from maps that file shared, so the file holds its memory when it is
 * stopped; a restored VM maps it private (copy-on-write) and loads only the device state. QEMU 7.2 has `exec:`
 * migration (`file:` needs 8.2), so the stream goes through `cat`.
 */
import { VmError } from "../errors.js";
import type { QmpClient } from "./qmp.js";

/** How often the migration status is polled. */
const POLL_MS = 5;

/** A path quoted for `/bin/sh` (QEMU runs `exec:` URIs through it). */
function shellQuote(path: string): string {
  return `'${path.replaceAll("'", `'"'"'`)}'`;
}

async function ignoreSharedRam(qmp: QmpClient): Promise<void> {
  await qmp.execute("migrate-set-capabilities", {
    capabilities: [{ capability: "x-ignore-shared", state: true }],
  });
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Polls `query-migrate` until the migration completed; throws with QEMU's reason when it failed. */
async function migrationDone(qmp: QmpClient, what: string): Promise<void> {
  for (;;) {
    const info = await qmp.execute("query-migrate");
    const status = field(info, "status");
    if (status === "completed") return;
    if (status === "failed" || status === "cancelled") {
      const detail = field(info, "error-desc");
      throw new VmError(
        "MSB_ERR_VM_START",
        `${what} failed${typeof detail === "string" ? `: ${detail}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Writes the VM's device state to `statePath`; resolves once the migration completed, with the VM stopped. The
 * VM is not stopped first: QEMU stops it for the migration's last stage (with the RAM skipped, at once), so
 * the saved run state is "running", and a VM restored from it runs as soon as its state is loaded.
 */
export async function saveVmState(qmp: QmpClient, statePath: string): Promise<void> {
  await ignoreSharedRam(qmp);
  await qmp.execute("migrate", { uri: `exec:cat > ${shellQuote(statePath)}` });
  await migrationDone(qmp, "saving the VM state");
}

/**
 * Starts loading the device state at `statePath` into a QEMU started with `incoming` and the template's RAM
 * file. It returns at once: QEMU runs the guest when the state is loaded (it was running when saved), and
 * exits when the stream is bad, which the caller's handshake with the agent then reports.
 */
export async function restoreVmState(qmp: QmpClient, statePath: string): Promise<void> {
  await ignoreSharedRam(qmp);
  await qmp.execute("migrate-incoming", { uri: `exec:cat ${shellQuote(statePath)}` });
}
