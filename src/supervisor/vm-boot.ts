/**
 * Boots a sandbox's VM: restored from the VM template of its image and shape when its spec allows one (the
 * template is made first when missing), else cold. Any failure on the template path falls back to a cold boot
 * on a fresh root disk over the image's base, after removing the template that failed: a template problem costs
 * time, never the sandbox.
 */
import { appendFileSync, constants, copyFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { scratchPath } from "../os/scratch-name.js";
import type { JsonLogger } from "../logs/logger.js";
import { readIfPresent } from "../logs/read.js";
import { createOverlay } from "../image/rootfs/overlay.js";
import { buildTemplate } from "../templates/template-build.js";
import { templateKey } from "../templates/template-key.js";
import type { TemplateKey } from "../templates/template-key.js";
import { TEMPLATE_DISK_LINK, TemplateStore } from "../templates/template-store.js";
import type { Template, TemplateLinks } from "../templates/template-store.js";
import { MicroVm, templateShape } from "../vm/microvm.js";
import type { MicroVmOptions } from "../vm/microvm.js";
import type { NewRootDisk } from "./spec.js";

/** The booted VM, and whether it came from a template. */
export interface SandboxVm {
  readonly vm: MicroVm;
  readonly restored: boolean;
}

/** A new sandbox's boot: its root disk to make, and what the template path needs besides the VM options. */
export interface FreshBoot {
  readonly disk: NewRootDisk;
  readonly home: string;
  readonly runDir: string;
  readonly log: JsonLogger;
}

/** VM options with a root disk: a sandbox's. */
export type RootedOptions = MicroVmOptions & { readonly rootDisk: NonNullable<MicroVmOptions["rootDisk"]> };

/** The key of the VM template a VM of `options` from image `imageDigest` is restored from. */
export function templateKeyOf(imageDigest: string, options: MicroVmOptions): TemplateKey {
  return templateKey({ imageDigest, ...templateShape(options) });
}

/**
 * Boots `options`. A new sandbox (`fresh`) gets its root disk made here: restored from its template when
 * `fresh.disk.template` allows one, on a copy of the template's child disk; else (or on any template failure) cold,
 * on an overlay over the image's base. A start (no `fresh`) boots cold on the sandbox's own disk.
 */
export async function bootSandboxVm(options: RootedOptions, fresh?: FreshBoot): Promise<SandboxVm> {
  const cold = async (): Promise<SandboxVm> => {
    if (fresh !== undefined) {
      await createOverlay({
        base: fresh.disk.baseDisk,
        path: options.rootDisk.path,
      });
    }
    return { vm: await MicroVm.boot(options), restored: false };
  };
  const mounts = options.mounts;
  const hasMounts =
    mounts !== undefined && mounts.mounts.length + mounts.shares.length + mounts.disks.length > 0;
  if (fresh === undefined || !fresh.disk.template || hasMounts) return cold();
  const { log } = fresh;
  const store = new TemplateStore(fresh.home);
  let key: TemplateKey;
  let found: Template;
  try {
    key = templateKeyOf(fresh.disk.imageDigest, options);
    for (const stale of store.prune(key.runtime)) log.info("stale template removed", { key: stale });
    const existing = store.find(key.key, key.runtime, (reason) => {
      log.warn("template invalid: removed, making it again", { key: key.key, reason });
    });
    found = existing ?? (await makeTemplate(store, key, fresh, options));
  } catch (err) {
    log.warn("no template: booting cold", { error: err });
    return cold();
  }
  const links: TemplateLinks = {
    statePath: join(fresh.runDir, "template.state"),
    ramPath: join(fresh.runDir, "template.ram"),
    diskPath: join(dirname(options.rootDisk.path), TEMPLATE_DISK_LINK),
  };
  try {
    store.link(found, links);
  } catch (err) {
    // A state directory on a filesystem without hard links: the template is fine, this sandbox boots cold.
    log.warn("cannot link the template's files: booting cold", { key: key.key, error: err });
    removeLinks(links);
    return cold();
  }
  try {
    copyChildDisk(found, options.rootDisk.path);
    if (options.consoleLog !== undefined) copyBootConsole(found, options.consoleLog);
    const vm = await MicroVm.boot({
      ...options,
      ramFile: { path: links.ramPath, shared: false },
      restore: { statePath: links.statePath },
    });
    // QEMU has read the state and maps the RAM: the links are not needed any more.
    rmSync(links.statePath, { force: true });
    rmSync(links.ramPath, { force: true });
    log.info("restored from template", { key: key.key, ms: Math.round(vm.bootMs) });
    return { vm, restored: true };
  } catch (err) {
    log.warn("template restore failed: template removed, booting cold", { key: key.key, error: err });
    store.remove(key.key);
    removeLinks(links);
    return cold(); // over a fresh disk: the copy of the template's may have been written to
  }
}

/**
 * The sandbox's root disk as a copy of the template's blank child disk, which names its backing file relative to
 * itself: the link beside `path`. Copied to a scratch name and renamed, so `path` is never half-written.
 */
export function copyChildDisk(template: Template, path: string): void {
  const scratch = scratchPath(dirname(path), ".root-disk");
  try {
    copyFileSync(template.childPath, scratch, constants.COPYFILE_FICLONE);
    renameSync(scratch, path);
  } catch (err) {
    rmSync(scratch, { force: true });
    throw err;
  }
}

function removeLinks(links: TemplateLinks): void {
  for (const path of [links.statePath, links.ramPath, links.diskPath]) rmSync(path, { force: true });
}

/** Starts the sandbox's console log with the boot console of its template, marked as such. */
function copyBootConsole(template: Template, consoleLog: string): void {
  const preface = bootConsolePreface(template);
  if (preface.length > 0) appendFileSync(consoleLog, preface, { mode: 0o600 });
}

/** The boot console of `template`, marked as such: what the console log of a sandbox restored from it starts with. */
export function bootConsolePreface(template: Template): Buffer {
  const boot = readIfPresent(template.consolePath);
  if (boot.length === 0) return boot;
  const key = template.meta.key;
  return Buffer.concat([
    Buffer.from(`--- msb: the boot of VM template ${key}, which this sandbox is restored from ---\n`),
    boot,
    Buffer.from(`\n--- msb: end of the template's boot; this sandbox's own console follows ---\n`),
  ]);
}

async function makeTemplate(
  store: TemplateStore,
  key: TemplateKey,
  template: FreshBoot,
  options: RootedOptions,
): Promise<Template> {
  const made = await buildTemplate({
    store,
    key,
    imageDigest: template.disk.imageDigest,
    baseDisk: template.disk.baseDisk,
    vm: {
      ...(options.cpus === undefined ? {} : { cpus: options.cpus }),
      ...(options.memoryMib === undefined ? {} : { memoryMib: options.memoryMib }),
      home: template.home,
      ...(options.logLimits === undefined ? {} : { logLimits: options.logLimits }),
      nicMac: options.network?.nic?.mac,
      configure: options.network?.configure,
    },
  });
  template.log.info("template made", { key: key.key, ms: made.meta.buildMs });
  return made;
}
