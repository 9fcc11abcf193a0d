/**
 * A warm spare VM: a spare supervisor (see `sdk/spare-supervisor.ts`) told the image and shape of its creator's
 * last create restores that VM template ahead of need, runs `template.resume` and one shell in it (under TCG, the
 * first run of the guest's code is what a restored create pays for: QEMU translates it), and waits. A create of
 * the same image and shape then takes it over: the spare's run directory becomes the sandbox's (QEMU's sockets
 * move with it), its root disk moves into the sandbox's directory, the network stack adopts the link QEMU is
 * connected to, and `template.resume` makes the VM the sandbox's own (hostname, fresh entropy, resolv.conf and
 * hosts). Any other create, or none, discards it. It restores only a template that exists: it never makes one.
 */
import { renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { PendingLink } from "../net/link/stream-link.js";
import { NetworkStack } from "../net/stack/network-stack.js";
import { msbPaths } from "../config/paths.js";
import { disownDir } from "../os/owned-dir.js";
import type { LogLimits } from "../logs/rotating-writer.js";
import { TEMPLATE_HOSTNAME, TEMPLATE_NET_FILES } from "../templates/template-build.js";
import { TEMPLATE_DISK_LINK, TemplateStore } from "../templates/template-store.js";
import type { Template } from "../templates/template-store.js";
import { MicroVm } from "../vm/microvm.js";
import type { MicroVmOptions } from "../vm/microvm.js";
import { ownedRunDir } from "../vm/run-dir.js";
import { sameHint } from "./warm-hint.js";
import type { WarmHint } from "./warm-hint.js";
import { bootConsolePreface, copyChildDisk, templateKeyOf } from "./vm-boot.js";

/** A spare that takes longer than this to come up is given up: a create would not wait that long for it. */
const SPARE_BOOT_TIMEOUT_MS = 20_000;

/** The spare's root disk, in its run directory until a sandbox takes it. */
const SPARE_ROOT_DISK = "root.qcow2";

/**
 * The VM options of the spare of `hint`, in `runDir`: those of a sandbox of that image and shape, as far as the hint
 * tells (a create checks the rest: its own options must give the same template key, see `vm-options.ts`).
 */
function spareOptions(hint: WarmHint, runDir: string): MicroVmOptions & { rootDisk: { path: string } } {
  const network = NetworkStack.guestNetwork({
    socketPath: join(runDir, "net.sock"),
    ...(hint.nic ? {} : { network: { policy: "none" } }),
  });
  return {
    network,
    rootDisk: { path: join(runDir, SPARE_ROOT_DISK), format: "qcow2" },
    cpus: hint.cpus,
    memoryMib: hint.memoryMib,
    runDir,
    home: hint.home,
  };
}

/** Where a taken spare goes: the sandbox's run directory, root disk and console log. */
export interface SpareDestination {
  readonly runDir: string;
  readonly rootDisk: string;
  readonly consoleLog: string;
  readonly logLimits?: LogLimits;
}

/** A restored, warmed VM waiting for a create of its {@link WarmHint}. */
export class SpareVm {
  /** How long the restore and the warming shell took (the create does not pay it). */
  readonly warmMs: number;
  readonly #vm: MicroVm;
  readonly #hint: WarmHint;
  readonly #key: string;
  readonly #template: Template;
  readonly #runDir: string;
  readonly #link: PendingLink | undefined;
  #gone = false;

  private constructor(init: {
    vm: MicroVm;
    hint: WarmHint;
    key: string;
    template: Template;
    runDir: string;
    link: PendingLink | undefined;
    warmMs: number;
  }) {
    this.#vm = init.vm;
    this.#hint = init.hint;
    this.#key = init.key;
    this.#template = init.template;
    this.#runDir = init.runDir;
    this.#link = init.link;
    this.warmMs = init.warmMs;
    void init.vm.exited.then(() => this.discard());
  }

  /**
   * Restores the template of `hint` into a run directory of its own under `<home>/tmp` and runs one shell.
   * Undefined when there is no valid template for it yet; throws when the restore fails (nothing is left).
   */
  static async warm(hint: WarmHint): Promise<SpareVm | undefined> {
    const started = performance.now();
    const store = new TemplateStore(hint.home);
    const key = templateKeyOf(hint.disk.imageDigest, spareOptions(hint, msbPaths(hint.home).runRoot));
    const template = store.find(key.key, key.runtime);
    if (template === undefined) return undefined;
    // Owned: whatever ends this process, the next ImageService removes what it leaves.
    const runDir = ownedRunDir(hint.home, "spare-vm");
    let link: PendingLink | undefined;
    let vm: MicroVm | undefined;
    try {
      const options = spareOptions(hint, runDir);
      if (hint.nic) link = await PendingLink.listen(join(runDir, "net.sock"));
      const links = {
        statePath: join(runDir, "template.state"),
        ramPath: join(runDir, "template.ram"),
        diskPath: join(runDir, TEMPLATE_DISK_LINK),
      };
      store.link(template, links);
      copyChildDisk(template, options.rootDisk.path);
      vm = await MicroVm.boot({
        ...options,
        ramFile: { path: links.ramPath, shared: false },
        restore: { statePath: links.statePath, deferResume: true },
        bootTimeoutMs: SPARE_BOOT_TIMEOUT_MS,
      });
      rmSync(links.statePath, { force: true });
      rmSync(links.ramPath, { force: true });
      // What a create runs first, run once now so that QEMU has translated it: `template.resume` (it is repeatable:
      // the take's own resume sets the sandbox's hostname, entropy and files over these, the template's own), then
      // the shell of its first command.
      const files = hint.nic ? { type: "net.configure" as const, ...TEMPLATE_NET_FILES } : undefined;
      await vm.resumeTemplate(TEMPLATE_HOSTNAME, files);
      await vm.exec({ argv: ["sh", "-c", "true"], timeoutMs: 30_000 });
      return new SpareVm({
        vm,
        hint,
        key: key.key,
        template,
        runDir,
        link,
        warmMs: performance.now() - started,
      });
    } catch (err) {
      await vm?.kill();
      link?.close();
      rmSync(runDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The link QEMU is connected to, for the sandbox's network stack (undefined without a NIC). */
  get link(): PendingLink | undefined {
    return this.#link;
  }

  /**
   * Whether this spare can be the VM of a sandbox with `hint` whose own VM options have the template key `key`
   * now (alive, the same image and shape to the last detail the key sees, its template current).
   */
  serves(hint: WarmHint | undefined, key: string): boolean {
    if (this.#gone || hint === undefined || !sameHint(hint, this.#hint)) return false;
    if (key !== this.#key) return false; // another network, or the environment changed the shape
    // The template it was restored from is still the one of its key (not removed, nor rebuilt since).
    try {
      return statSync(this.#template.diskPath).ino === statSync(join(this.#runDir, TEMPLATE_DISK_LINK)).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /**
   * Moves the VM into the sandbox's places (see the module comment); the caller then has its network stack
   * adopt {@link link} and calls `resumeTemplate`. Throws, with the spare discarded and nothing left at
   * `to`, when a move fails.
   */
  async take(to: SpareDestination): Promise<MicroVm> {
    const diskLink = join(dirname(to.rootDisk), TEMPLATE_DISK_LINK);
    const moved: string[] = [];
    const move = (from: string, dest: string): void => {
      renameSync(from, dest);
      moved.push(dest);
    };
    try {
      // Nobody's from now on: the directory becomes the sandbox's run directory, which no cleaner may remove.
      disownDir(this.#runDir);
      move(join(this.#runDir, TEMPLATE_DISK_LINK), diskLink);
      move(join(this.#runDir, SPARE_ROOT_DISK), to.rootDisk);
      this.#vm.relocate({
        runDir: to.runDir,
        consoleLog: to.consoleLog,
        ...(to.logLimits ? { logLimits: to.logLimits } : {}),
        preface: bootConsolePreface(this.#template),
      });
    } catch (err) {
      for (const dest of moved) rmSync(dest, { force: true });
      await this.discard();
      throw err;
    }
    this.#gone = true;
    return this.#vm;
  }

  /** Kills the VM and removes what it had; nothing once taken. Idempotent. */
  async discard(): Promise<void> {
    if (this.#gone) return;
    this.#gone = true;
    this.#link?.close();
    await this.#vm.kill();
    rmSync(this.#runDir, { recursive: true, force: true });
  }
}
