/**
 * Making a VM template: boot a VM of the requested shape on a child of the image's base disk with its RAM in a
 * shared file, let the agent mount the root and set up the network restored VMs will have, park it, save the
 * device state, and commit the directory. The VM a template is made from never runs user code: nothing of one
 * sandbox can reach another through it.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { join } from "node:path";
import { AgentError, CommandNotFoundError } from "../errors.js";
import { createOverlay } from "../image/rootfs/overlay.js";
import { readIfPresent } from "../logs/read.js";
import { readEnv } from "../config/env.js";
import { MicroVm } from "../vm/microvm.js";
import { ownedRunDir } from "../vm/run-dir.js";
import type { MicroVmOptions } from "../vm/microvm.js";
import type { NetConfigureMessage } from "../protocol/messages.js";
import { TEMPLATE_FORMAT } from "./template-key.js";
import type { TemplateKey } from "./template-key.js";
import { TEMPLATE_DISK_LINK, TEMPLATE_FILES, sha256 } from "./template-store.js";
import type { Template, TemplateMeta, TemplateStore } from "./template-store.js";

/** The hostname a template's VM has until a restore's `template.resume` gives it the sandbox's. */
export const TEMPLATE_HOSTNAME = "localhost";

/** The resolv.conf and hosts a template's VM has (empty) until a restore's `template.resume` writes its own. */
export const TEMPLATE_NET_FILES = { resolvConf: "", hosts: "" } as const;

/** Options of {@link buildTemplate}. */
export interface BuildTemplateOptions {
  readonly store: TemplateStore;
  readonly key: TemplateKey;
  readonly imageDigest: string;
  /** The image's base disk (raw ext4): the template's disk is a child of it. */
  readonly baseDisk: string;
  /**
   * The VM's shape: cpus, memory, home, artifacts, accelerator, the NIC's MAC when restored VMs have one (its
   * socket is replaced by one that holds the link: nothing the template sends goes anywhere), and the network
   * set-up of restored VMs: the template runs it (loopback, the NIC's address and routes) with empty files,
   * which each restore replaces with its own (`template.resume`).
   */
  readonly vm: Pick<MicroVmOptions, "cpus" | "memoryMib" | "home" | "artifacts" | "accel" | "logLimits"> & {
    readonly nicMac?: string | undefined;
    readonly configure?: NetConfigureMessage | undefined;
  };
}

/** Builds and commits the template `key` (or returns the one a concurrent builder committed first). */
export async function buildTemplate(options: BuildTemplateOptions): Promise<Template> {
  const { store, key, vm } = options;
  const started = performance.now();
  const scratch = store.scratchDir();
  // QEMU's sockets and the held link in a run directory as short as a sandbox's, not in the long scratch name.
  let runDir: string | undefined;
  try {
    runDir = ownedRunDir(vm.home ?? readEnv().home, "template");
    const disk = await createOverlay({
      base: options.baseDisk,
      path: join(scratch, TEMPLATE_FILES.disk),
    });
    await createOverlay({
      base: TEMPLATE_DISK_LINK,
      baseFormat: "qcow2",
      relativeBase: true,
      virtualSizeBytes: statSync(options.baseDisk).size,
      path: join(scratch, TEMPLATE_FILES.child),
    });
    const link = vm.nicMac === undefined ? undefined : await holdLink(join(runDir, "net.sock"));
    try {
      const booted = await MicroVm.boot({
        ...(vm.cpus === undefined ? {} : { cpus: vm.cpus }),
        ...(vm.memoryMib === undefined ? {} : { memoryMib: vm.memoryMib }),
        ...(vm.home === undefined ? {} : { home: vm.home }),
        ...(vm.artifacts === undefined ? {} : { artifacts: vm.artifacts }),
        ...(vm.accel === undefined ? {} : { accel: vm.accel }),
        ...(vm.logLimits === undefined ? {} : { logLimits: vm.logLimits }),
        rootDisk: disk,
        runDir,
        hostname: TEMPLATE_HOSTNAME,
        ramFile: { path: join(scratch, TEMPLATE_FILES.ram), shared: true },
        ...templateNetwork(vm, link?.path),
      });
      await warmUp(booted);
      await booted.saveTemplateState(join(scratch, TEMPLATE_FILES.state));
    } finally {
      await link?.close();
    }
    keepConsoleTail(join(runDir, "console.log"), join(scratch, TEMPLATE_FILES.console));
    rmSync(runDir, { recursive: true, force: true });
    const state = readFileSync(join(scratch, TEMPLATE_FILES.state));
    const meta: TemplateMeta = {
      format: TEMPLATE_FORMAT,
      key: key.key,
      runtime: key.runtime,
      imageDigest: options.imageDigest,
      memoryMib: vm.memoryMib ?? 512,
      cpus: vm.cpus ?? 1,
      createdAt: new Date().toISOString(),
      buildMs: Math.round(performance.now() - started),
      stateBytes: state.length,
      stateSha256: sha256(state),
    };
    writeFileSync(join(scratch, TEMPLATE_FILES.meta), JSON.stringify(meta, null, 2) + "\n", { mode: 0o600 });
    return store.commit(scratch, key.key);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

/** The template VM's network option: the NIC on the held link, and the set-up restored VMs inherit. */
function templateNetwork(
  vm: BuildTemplateOptions["vm"],
  linkPath: string | undefined,
): Pick<MicroVmOptions, "network"> {
  const nic =
    linkPath !== undefined && vm.nicMac !== undefined ? { socketPath: linkPath, mac: vm.nicMac } : undefined;
  const configure = vm.configure ? { ...vm.configure, ...TEMPLATE_NET_FILES } : undefined;
  if (nic === undefined && configure === undefined) return {};
  return { network: { ...(nic ? { nic } : {}), ...(configure ? { configure } : {}) } };
}

/**
 * Runs the image's shell once, as the first `shell()` of every restored sandbox will: its binary and libraries
 * are then in the saved guest page cache, read by no restored sandbox from its disk again. An image without
 * `/bin/sh` skips it (the exec's error is the answer).
 */
async function warmUp(vm: MicroVm): Promise<void> {
  try {
    await vm.exec({ argv: ["/bin/sh", "-c", "true"], timeoutMs: 10_000 });
  } catch (err) {
    if (!(err instanceof AgentError || err instanceof CommandNotFoundError)) throw err;
  }
}

/** Bytes of the template's boot console kept for the console logs of the sandboxes restored from it. */
const CONSOLE_TAIL_BYTES = 64 * 1024;

function keepConsoleTail(from: string, to: string): void {
  const text = readIfPresent(from);
  if (text.length === 0) return;
  writeFileSync(to, text.subarray(Math.max(0, text.length - CONSOLE_TAIL_BYTES)), { mode: 0o600 });
}

/** A unix socket QEMU's `-netdev stream` connects to: it accepts and drops whatever the guest sends. */
async function holdLink(path: string): Promise<{ path: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // The link carries nothing anyone reads: a reset by QEMU's exit is its normal end.
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, resolve);
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}
