/**
 * The supervisor: one process per sandbox. It boots the VM, serves SDK clients on a unix socket, records every
 * status transition in SQLite, stops the VM when its creator dies (attached mode, signalled by the owner pipe
 * closing: works even when the creator is SIGKILLed), and marks the sandbox crashed if QEMU dies under it.
 * QEMU runs with pdeathsig, so it never outlives the supervisor either.
 */
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { msbPaths } from "../config/paths.js";
import { identityOf } from "../os/process-identity.js";
import { Store } from "../store/store.js";
import { NetworkStack } from "../net/stack/network-stack.js";
import { MicroVm } from "../vm/microvm.js";
import { toWireError } from "../wire-error.js";
import { ClientSession } from "./client-session.js";
import type { SessionTotals } from "./client-session.js";
import { startMainProcess } from "./main-process.js";
import { openSandboxLogs } from "./sandbox-logs.js";
import type { SandboxLogs } from "./sandbox-logs.js";
import { CONTROL_SOCKET } from "./spec.js";
import type { SupervisorReport, SupervisorSpec } from "./spec.js";

/** How the supervisor process talks to its launcher. */
export interface SupervisorIo {
  /** Called once the sandbox's logs are open (the executable routes process warnings into them). */
  onLogs?(logs: SandboxLogs): void;
  /** Called once: ready, or failed to start. */
  report(report: SupervisorReport): void;
  /** Attached mode: the read end of the owner pipe; it ends when the creator dies. */
  readonly ownerPipe?: Readable;
}

/** Runs a sandbox until it stops; resolves with the process exit code. */
export async function runSupervisor(spec: SupervisorSpec, io: SupervisorIo): Promise<number> {
  const store = Store.open({ path: msbPaths(spec.home).database });
  let logs: SandboxLogs;
  try {
    logs = openSandboxLogs(spec);
  } catch (err) {
    store.sandboxes.setStatus(spec.name, "crashed", { exitReason: `cannot open the logs: ${String(err)}` });
    store.close();
    io.report({ ready: false, error: toWireError(err, "MSB_ERR_VM_START") });
    return 1;
  }
  const log = logs.logger;
  io.onLogs?.(logs);
  log.info("booting", { name: spec.name, cpus: spec.cpus, memoryMib: spec.memoryMib, pid: process.pid });
  let vm: MicroVm;
  let net: NetworkStack | undefined;
  try {
    // The stack listens before QEMU starts: QEMU is the client of the -netdev stream socket.
    net = await NetworkStack.start({
      socketPath: join(spec.runDir, "net.sock"),
      hostname: spec.hostname,
      ...(spec.network ? { network: spec.network } : {}),
      ...(spec.ports ? { ports: spec.ports } : {}),
    });
    vm = await MicroVm.boot({
      network: { nic: net.nic, configure: net.guestConfig },
      rootDisk: spec.rootDisk,
      cpus: spec.cpus,
      memoryMib: spec.memoryMib,
      hostname: spec.hostname,
      runDir: spec.runDir,
      home: spec.home,
      consoleLog: logs.consolePath,
      logLimits: logs.limits,
    });
  } catch (err) {
    log.error("boot failed", { error: err });
    logs.close();
    net?.close();
    store.sandboxes.setStatus(spec.name, "crashed", { exitReason: `boot failed: ${(err as Error).message}` });
    store.close();
    // The SDK rethrows it with its class and fields; an error that is not an MsbError becomes a VmError.
    io.report({ ready: false, error: toWireError(err, "MSB_ERR_VM_START") });
    return 1;
  }
  const socketPath = join(spec.runDir, CONTROL_SOCKET);
  const sessions = new Set<ClientSession>();
  const totals: SessionTotals = { clients: 0, streams: 0 };
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping", { reason });
      store.sandboxes.setStatus(spec.name, "stopping");
      await vm.shutdown();
      store.sandboxes.setStatus(spec.name, "stopped", { exitReason: reason });
      log.info("stopped", { reason });
    })();
    return stopping;
  };
  const server: Server = createServer((socket) => {
    const session = new ClientSession(socket, {
      agent: vm.agent,
      requestStop: () => stop("stopped"),
      totals,
    });
    sessions.add(session);
    log.debug("client connected", { clients: sessions.size });
    socket.once("close", () => {
      sessions.delete(session);
      log.debug("client disconnected", { clients: sessions.size });
    });
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });
  if (spec.main) {
    startMainProcess(vm.agent, spec.main, logs.openMain());
    log.info("main process started", { argv: spec.main.argv });
  }
  store.sandboxes.setStatus(spec.name, "running", {
    supervisor: identityOf(process.pid),
    qemu: identityOf(vm.pid),
  });
  log.info("running", { qemuPid: vm.pid, bootMs: Math.round(vm.bootMs) });
  logs.stopCollecting();
  io.report({
    ready: true,
    pid: process.pid,
    qemuPid: vm.pid,
    bootMs: Math.round(vm.bootMs),
    ...(logs.warnings.length > 0 ? { warnings: logs.warnings } : {}),
  });

  io.ownerPipe?.on("close", () => void stop("creator exited"));
  io.ownerPipe?.resume();
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));

  const exit = await vm.exited;
  if (!stopping) {
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    store.sandboxes.setStatus(spec.name, "crashed", { exitReason: `the VM exited unexpectedly (${how})` });
    log.error("the VM exited unexpectedly", { code: exit.code, signal: exit.signal, stderr: exit.stderr });
  } else {
    await stopping;
  }
  for (const session of sessions) session.close();
  server.close();
  net.close();
  rmSync(socketPath, { force: true });
  store.close();
  logs.close();
  return stopping ? 0 : 1;
}
