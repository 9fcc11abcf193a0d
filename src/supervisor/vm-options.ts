/**
 * A new sandbox's VM options and network, built in one place from its spec: what the supervisor boots (or restores)
 * its VM with, and what a warm spare VM must match to be taken (the template key of these options). The spare,
 * which has only a hint, restores the template its own options name; the take compares the two keys, so a spare
 * whose VM differs in any way the key sees is never taken.
 */
import { join } from "node:path";
import { NetworkStack } from "../net/stack/network-stack.js";
import type { GuestNetwork, GuestNetworkOptions } from "../net/stack/network-stack.js";
import type { SandboxLogs } from "./sandbox-logs.js";
import type { SupervisorSpec } from "./spec.js";
import type { RootedOptions } from "./vm-boot.js";

/** What of the sandbox's network stack options decides its VM's NIC and network set-up. */
export function guestNetworkOptionsOf(spec: SupervisorSpec): GuestNetworkOptions & { socketPath: string } {
  return {
    socketPath: join(spec.runDir, "net.sock"),
    hostname: spec.hostname,
    ...(spec.network ? { network: spec.network } : {}),
  };
}

/** The VM options of the sandbox of `spec`, on `network` (its stack's, or {@link NetworkStack.guestNetwork}'s). */
export function sandboxVmOptions(
  spec: SupervisorSpec,
  logs: Pick<SandboxLogs, "consolePath" | "limits">,
  network: GuestNetwork,
): RootedOptions {
  return {
    network,
    rootDisk: spec.rootDisk,
    cpus: spec.cpus,
    memoryMib: spec.memoryMib,
    hostname: spec.hostname,
    runDir: spec.runDir,
    home: spec.home,
    consoleLog: logs.consolePath,
    logLimits: logs.limits,
    ...(spec.mounts ? { mounts: spec.mounts } : {}),
  };
}

/** {@link sandboxVmOptions} before the network stack runs: the network it will give the VM. */
export function plannedVmOptions(
  spec: SupervisorSpec,
  logs: Pick<SandboxLogs, "consolePath" | "limits">,
): RootedOptions {
  return sandboxVmOptions(spec, logs, NetworkStack.guestNetwork(guestNetworkOptionsOf(spec)));
}
