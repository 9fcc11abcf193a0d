/**
 * The supervisor: one process per sandbox. It records itself in SQLite (pid and start time) before it boots the
 * VM, serves SDK clients on a unix socket, and leaves every later status change to its {@link SandboxLifecycle}.
 * In attached mode it watches the owner pipe from the start: when the creator dies (the pipe closes however it
 * dies), during boot or after, the sandbox stops cleanly and says `stopped`. A VM that ends on its own makes the
 * sandbox `crashed`, with the reason read from the console. QEMU runs with pdeathsig, so it never outlives the
 * supervisor either.
 */
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { msbPaths } from "../config/paths.js";
import { InvalidStateError } from "../errors.js";
import { identityOf } from "../os/process-identity.js";
import { BOOTING_STATUSES, LIVE_STATUSES } from "../store/sandbox-status.js";
import { Store } from "../store/store.js";
import { NetworkStack } from "../net/stack/network-stack.js";
import type { BootPhases, MicroVm } from "../vm/microvm.js";
import { toWireError } from "../wire-error.js";
import { ClientSession } from "./client-session.js";
import type { SessionTotals } from "./client-session.js";
import { CONSOLE_TAIL_BYTES, crashReason } from "./crash-reason.js";
import { guestCaEnv } from "./guest-ca.js";
import { installGuestCa } from "./guest-ca-install.js";
import { SandboxLifecycle } from "./lifecycle.js";
import { startMainProcess } from "./main-process.js";
import { samplerFor } from "./metrics-sampler.js";
import { secretGuardFor } from "./secret-guard.js";
import { applyPatchesOnce, patchNetFiles, writeScripts } from "./rootfs-patches.js";
import { readEnv } from "../config/env.js";
import { readTail } from "../logs/read.js";
import { openSandboxLogs } from "./sandbox-logs.js";
import type { SandboxLogs } from "./sandbox-logs.js";
import { CONTROL_SOCKET } from "./spec.js";
import { tlsInterceptionOf } from "./tls-interception.js";
import { bootSandboxVm, templateKeyOf } from "./vm-boot.js";
import { guestNetworkOptionsOf, plannedVmOptions, sandboxVmOptions } from "./vm-options.js";
import type { SandboxVm } from "./vm-boot.js";
import { warmHintOf } from "./warm-hint.js";
import type { WarmHint } from "./warm-hint.js";
import type { SpareVm } from "./spare-vm.js";
import type { PendingLink } from "../net/link/stream-link.js";
import type { NetConfigureMessage } from "../protocol/messages.js";
import type { SupervisorReport, SupervisorSpec } from "./spec.js";

/** How the supervisor process talks to its launcher. */
export interface SupervisorIo {
  /** Called once the sandbox's logs are open (the executable routes process warnings into them). */
  onLogs?(logs: SandboxLogs): void;
  /** Called once: ready, or failed to start. */
  report(report: SupervisorReport): void;
  /** Attached mode: the read end of the owner pipe; it ends when the creator dies. */
  readonly ownerPipe?: Readable;
  /** A spare's warm VM (see `spare-vm.ts`), once warm; `failure` says why there is none when warming failed. */
  readonly spare?: (hint: WarmHint | undefined) => Promise<{ vm: SpareVm | undefined; failure: unknown }>;
}

function roundedPhases(phases: BootPhases): BootPhases {
  return {
    qemuMs: Math.round(phases.qemuMs),
    agentMs: Math.round(phases.agentMs),
    setupMs: Math.round(phases.setupMs),
  };
}

function warn(message: string): void {
  process.emitWarning(message, { code: "MSB_SUPERVISOR" });
}

/** Runs a sandbox until it stops; resolves with the process exit code. */
export async function runSupervisor(spec: SupervisorSpec, io: SupervisorIo): Promise<number> {
  const store = Store.open({ path: msbPaths(spec.home).database });
  const sandboxes = store.sandboxes;
  if (!sandboxes.recordSupervisor(spec.id, identityOf(process.pid))) {
    store.close();
    const error = new InvalidStateError(`sandbox ${spec.name} is no longer being started`);
    io.report({ ready: false, error: toWireError(error) });
    return 1;
  }
  let logs: SandboxLogs;
  try {
    logs = openSandboxLogs(spec);
  } catch (err) {
    const exitReason = `cannot open the logs: ${(err as Error).message}`;
    recordSafely(() => sandboxes.setStatus(spec.id, "crashed", { exitReason }, BOOTING_STATUSES));
    store.close();
    io.report({ ready: false, error: toWireError(err, "MSB_ERR_VM_START") });
    return 1;
  }
  const log = logs.logger;
  io.onLogs?.(logs);
  log.info("booting", { name: spec.name, cpus: spec.cpus, memoryMib: spec.memoryMib, pid: process.pid });
  // Watched from the start: a creator that dies while the VM boots stops the sandbox as soon as it is up.
  const owner = { gone: false };
  let onOwnerGone = (): void => {
    owner.gone = true;
  };
  io.ownerPipe?.on("close", () => {
    onOwnerGone();
  });
  io.ownerPipe?.on("error", (err) => {
    warn(`owner pipe: ${err.message}`);
  });
  io.ownerPipe?.resume();

  let vm: MicroVm;
  let net: NetworkStack | undefined;
  let booted: MicroVm | undefined;
  let restored = false;
  /** Environment under every exec's and the main process's own (the TLS CA's variables). */
  let execEnv: Readonly<Record<string, string>> | undefined;
  // A block-and-terminate violation stops the sandbox; one before it is running stops it as soon as it is.
  const violation: { reason?: string; stop?: (reason: string) => void } = {};
  const guard = secretGuardFor(spec, log, (reason) => {
    if (violation.stop) violation.stop(reason);
    else violation.reason ??= reason;
  });
  // The guard sees every intercepted TLS connection and every plain TCP connection (NetworkStack's `relay`).
  const relay = guard ? { relay: guard } : {};
  try {
    const warm = await takeSpareVm(spec, io, logs);
    booted = warm?.vm;
    // The stack listens before QEMU starts: QEMU is the client of the -netdev stream socket (a warm spare's QEMU
    // is connected already: the stack adopts that link).
    net = await NetworkStack.start({
      ...guestNetworkOptionsOf(spec),
      ...(warm?.link ? { pendingLink: warm.link } : {}),
      ...(spec.ports ? { ports: spec.ports } : {}),
      ...(spec.tls ? { tlsInterception: tlsInterceptionOf(spec.tls) } : {}),
      log: (level, message, fields) => {
        log.log(level, message, fields);
      },
      ...relay,
    });
    const started = warm
      ? await resumeSpareVm(warm.vm, spec.hostname, patchNetFiles(net.guestConfig, spec.patches), log)
      : await bootSandboxVm(
          sandboxVmOptions(spec, logs, {
            nic: net.nic,
            configure: patchNetFiles(net.guestConfig, spec.patches),
          }),
          spec.newRootDisk && { disk: spec.newRootDisk, home: spec.home, runDir: spec.runDir, log },
        );
    vm = booted = started.vm;
    restored = started.restored;
    // Before the main process and before any client can exec: patches once (at create), scripts every boot.
    const prepared = performance.now();
    const patched = await applyPatchesOnce(vm.agent, spec.patches, spec.patchMarker);
    await writeScripts(vm.agent, spec.scripts);
    if (spec.patches !== undefined || spec.scripts !== undefined) {
      const ms = Math.round(performance.now() - prepared);
      log.info("guest prepared", { patched, scripts: spec.scripts !== undefined, ms });
    }
    if (spec.tls !== undefined) {
      const started = performance.now();
      const ca = await installGuestCa(vm.agent, spec.tls.caCertPem);
      execEnv = guestCaEnv(ca.bundle);
      const ms = Math.round(performance.now() - started);
      log.info("guest trusts the TLS CA", {
        bundle: ca.bundle,
        written: ca.written,
        created: ca.created,
        ms,
      });
      for (const { path, reason } of ca.skipped) log.warn("CA bundle left alone", { path, reason });
    }
  } catch (err) {
    log.error("boot failed", { error: err });
    await booted?.kill();
    logs.close();
    net?.close();
    const exitReason = `boot failed: ${(err as Error).message}`;
    recordSafely(() => sandboxes.setStatus(spec.id, "crashed", { exitReason }, BOOTING_STATUSES));
    store.close();
    // The SDK rethrows it with its class and fields; an error that is not an MsbError becomes a VmError.
    io.report({ ready: false, error: toWireError(err, "MSB_ERR_VM_START") });
    return 1;
  }

  const socketPath = join(spec.runDir, CONTROL_SOCKET);
  const sessions = new Set<ClientSession>();
  const totals: SessionTotals = { clients: 0, streams: 0 };
  const sampler = samplerFor(vm, net, { memoryMib: spec.memoryMib, intervalMs: readEnv().metricsIntervalMs });
  const main = spec.main
    ? startMainProcess(vm.agent, { ...spec.main, env: { ...execEnv, ...spec.main.env } }, logs.openMain())
    : undefined;
  const lifecycle = new SandboxLifecycle({
    name: spec.name,
    id: spec.id,
    sandboxes,
    shutdownVm: async () => {
      sampler.stop();
      await vm.shutdown();
    },
    main,
    stop: spec.stop,
    openStreams: () => totals.streams,
    warn,
  });
  const server: Server = createServer((socket) => {
    const session = new ClientSession(socket, {
      agent: vm.agent,
      totals,
      requestStop: () => lifecycle.stop("stopped"),
      drain: () => {
        lifecycle.drain();
      },
      detach: () => {
        onOwnerGone = () => undefined;
        sandboxes.setDetached(spec.id);
      },
      refusal: () => lifecycle.refusal(),
      metrics: () => sampler.sample(),
      execEnv,
    });
    sessions.add(session);
    log.debug("client connected", { clients: sessions.size });
    socket.once("close", () => {
      sessions.delete(session);
      log.debug("client disconnected", { clients: sessions.size });
    });
  });
  server.on("error", (err) => {
    warn(`control socket: ${err.message}`);
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });
  const recorded = recordSafely(() =>
    sandboxes.setStatus(spec.id, "running", { qemu: identityOf(vm.pid) }, BOOTING_STATUSES),
  );
  if (spec.main) log.info("main process started", { argv: spec.main.argv });
  log.info("running", {
    qemuPid: vm.pid,
    bootMs: Math.round(vm.bootMs),
    restored,
    phases: roundedPhases(vm.bootPhases),
  });
  logs.stopCollecting();
  io.report({
    ready: true,
    pid: process.pid,
    qemuPid: vm.pid,
    bootMs: Math.round(vm.bootMs),
    ...(logs.warnings.length > 0 ? { warnings: logs.warnings } : {}),
  });

  const stopFor = (reason: string) => () => {
    if (!lifecycle.stopRequested) log.info("stopping", { reason });
    lifecycle.stop(reason).catch((err: unknown) => {
      warn(`stop failed: ${(err as Error).message}`);
    });
  };
  if (!recorded) stopFor("its record changed while it booted (removed or replaced)")();
  if (owner.gone) stopFor("creator exited")();
  else onOwnerGone = stopFor("creator exited");
  violation.stop = (reason) => {
    stopFor(reason)();
  };
  if (violation.reason !== undefined) stopFor(violation.reason)();
  process.once("SIGTERM", stopFor("SIGTERM"));
  process.once("SIGINT", stopFor("SIGINT"));
  const limit =
    spec.maxDurationMs === undefined
      ? undefined
      : setTimeout(stopFor(`maxDurationSecs (${spec.maxDurationMs / 1000}) reached`), spec.maxDurationMs);

  sampler.start();

  const exit = await vm.exited;
  sampler.stop();
  clearTimeout(limit);
  if (!lifecycle.stopRequested) {
    const exitReason = crashReason(readTail(vm.consoleLog, CONSOLE_TAIL_BYTES), exit);
    recordSafely(() => sandboxes.setStatus(spec.id, "crashed", { exitReason }, LIVE_STATUSES));
    log.error("the VM exited unexpectedly", {
      reason: exitReason,
      code: exit.code,
      signal: exit.signal,
      stderr: exit.stderr,
    });
  } else {
    await lifecycle.stop("stopped");
    log.info("stopped");
  }
  for (const session of sessions) session.close();
  server.close();
  if (guard) log.info("secrets guard totals", { ...guard.counters });
  net.close();
  rmSync(socketPath, { force: true });
  store.close();
  logs.close();
  return lifecycle.stopRequested ? 0 : 1;
}

/** A status write whose failure is logged, not thrown (readers reconcile the row from the live processes). */
function recordSafely(write: () => boolean): boolean {
  try {
    return write();
  } catch (err) {
    warn(`cannot record the status: ${(err as Error).message}`);
    return false;
  }
}

/**
 * The spare's warm VM moved into this sandbox's places, when it serves this spec (see `spare-vm.ts`); otherwise
 * it is discarded and the sandbox boots as usual. Never throws: a spare that fails costs time, not the sandbox.
 */
async function takeSpareVm(
  spec: SupervisorSpec,
  io: SupervisorIo,
  logs: SandboxLogs,
): Promise<{ vm: MicroVm; link: PendingLink | undefined } | undefined> {
  if (io.spare === undefined) return undefined;
  const log = logs.logger;
  const hint = warmHintOf(spec);
  const { vm: spare, failure } = await io.spare(hint);
  // Not a warning: the create goes on as usual, and the user has nothing to do.
  if (failure !== undefined) log.info("no warm spare VM: its restore failed", { error: failure });
  if (spare === undefined) return undefined;
  try {
    const key = spec.newRootDisk && templateKeyOf(spec.newRootDisk.imageDigest, plannedVmOptions(spec, logs));
    if (key === undefined || !spare.serves(hint, key.key)) {
      log.debug("the warm spare VM is of another image or shape: discarded");
      await spare.discard();
      return undefined;
    }
    const link = spare.link;
    const vm = await spare.take({
      runDir: spec.runDir,
      rootDisk: spec.rootDisk.path,
      consoleLog: logs.consolePath,
      logLimits: logs.limits,
    });
    log.info("took the warm spare VM", { warmMs: Math.round(spare.warmMs) });
    return { vm, link };
  } catch (err) {
    log.warn("cannot take the warm spare VM: booting as usual", { error: err });
    await spare.discard().catch((discardError: unknown) => {
      log.warn("cannot discard the warm spare VM", { error: discardError });
    });
    return undefined;
  }
}

/** Makes a taken spare VM this sandbox's own (`template.resume`). */
async function resumeSpareVm(
  vm: MicroVm,
  hostname: string,
  network: NetConfigureMessage,
  log: SandboxLogs["logger"],
): Promise<SandboxVm> {
  await vm.resumeTemplate(hostname, network);
  log.info("restored from template", { warmSpare: true, ms: Math.round(vm.bootPhases.setupMs) });
  return { vm, restored: true };
}
