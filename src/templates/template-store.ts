/**
 * VM templates on disk: `<home>/templates/<key>/` holds `meta.json`, `state` (QEMU's device state), `ram`
 * (guest memory, mapped copy-on-write by restored VMs) and `disk.qcow2` (the root disk as the saved VM left it,
 * a child of the image's base disk). A template is immutable once committed: it is built in scratch space and
 * renamed into place (of two builders one wins, the other's copy is dropped), removed by renaming it away first,
 * and a VM restored from it holds hard links to its files, so removing a template never breaks a sandbox.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { msbPaths } from "../config/paths.js";
import { scratchPath } from "../os/scratch-name.js";
import { TEMPLATE_FORMAT } from "./template-key.js";

/** What `meta.json` records. */
export interface TemplateMeta {
  readonly format: number;
  readonly key: string;
  /** The runtime identity the template was made on (`TemplateKey.runtime`). */
  readonly runtime: string;
  readonly imageDigest: string;
  readonly memoryMib: number;
  readonly cpus: number;
  /** ISO time of the commit. */
  readonly createdAt: string;
  /** How long making it took (boot, park, save). */
  readonly buildMs: number;
  readonly stateBytes: number;
  /** Checked before every restore: a corrupt state file is never loaded. */
  readonly stateSha256: string;
}

/** A committed template. */
export interface Template {
  readonly dir: string;
  readonly meta: TemplateMeta;
  readonly statePath: string;
  readonly ramPath: string;
  readonly diskPath: string;
  /** The blank child disk a restored sandbox's root disk is copied from. */
  readonly childPath: string;
  readonly consolePath: string;
  /** Bytes the template's files take on disk (allocated blocks). */
  readonly diskBytes: number;
}

/** Where a restored VM keeps its links to a template's files. */
export interface TemplateLinks {
  readonly statePath: string;
  readonly ramPath: string;
  readonly diskPath: string;
}

/** File names inside a template directory. */
export const TEMPLATE_FILES = {
  meta: "meta.json",
  state: "state",
  ram: "ram",
  disk: "disk.qcow2",
  /**
   * A blank qcow2 child of the disk, naming it {@link TEMPLATE_DISK_LINK} (relative): a restored sandbox's root disk
   * is a copy of it, beside its link to the template's disk, which no `qemu-img` run then has to make.
   */
  child: "child.qcow2",
  /** The guest console of the template's boot (its tail): restored sandboxes' console logs start with it. */
  console: "console.log",
} as const;

/** The name of a restored sandbox's hard link to its template's disk, beside its root disk (which names it). */
export const TEMPLATE_DISK_LINK = "template.qcow2";

const MIB = 1024 * 1024;

/** The templates of one state directory. */
export class TemplateStore {
  readonly dir: string;
  readonly #tmpDir: string;

  constructor(home: string) {
    const paths = msbPaths(home);
    this.dir = paths.templatesDir;
    this.#tmpDir = paths.tmpDir;
  }

  /** A fresh scratch directory to build a template in (same filesystem: the commit is a rename). */
  scratchDir(): string {
    const dir = scratchPath(this.#tmpDir, "template");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /**
   * The template `key` made on `runtime`, checked whole (meta, state checksum, RAM size, disk); undefined when
   * there is none. A template that fails a check is removed, and `onInvalid` says why.
   */
  find(key: string, runtime: string, onInvalid?: (reason: string) => void): Template | undefined {
    const dir = join(this.dir, key);
    let template: Template;
    try {
      template = this.#read(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      this.#invalid(key, `unreadable: ${(err as Error).message}`, onInvalid);
      return undefined;
    }
    let problem: string | undefined;
    try {
      problem = checkTemplate(template, key, runtime);
    } catch (err) {
      problem = `unreadable: ${(err as Error).message}`;
    }
    if (problem !== undefined) {
      this.#invalid(key, problem, onInvalid);
      return undefined;
    }
    return template;
  }

  /** Every committed template (unchecked; an unreadable directory is skipped). */
  list(): Template[] {
    const templates: Template[] = [];
    for (const name of listDir(this.dir)) {
      if (name.startsWith(".")) continue;
      try {
        templates.push(this.#read(join(this.dir, name)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
      }
    }
    return templates;
  }

  /**
   * Commits a template built in `scratch` (with its `meta.json` written): renamed to its key's directory. When a
   * concurrent builder committed first, `scratch` is dropped and theirs is returned.
   */
  commit(scratch: string, key: string): Template {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const dir = join(this.dir, key);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      rmSync(scratch, { recursive: true, force: true });
    }
    return this.#read(dir);
  }

  /** Removes template `key` (renamed away first, so it is never found half-removed). True if it existed. */
  remove(key: string): boolean {
    const trash = join(this.dir, `.removing-${key}-${process.pid}-${Date.now()}`);
    try {
      renameSync(join(this.dir, key), trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    rmSync(trash, { recursive: true, force: true });
    return true;
  }

  /** Removes the templates made from image `digest` (when the image goes); returns their keys. */
  removeForImage(digest: string): string[] {
    return this.#removeWhere((meta) => meta.imageDigest === digest);
  }

  /** Removes the templates made on another runtime than `runtime` (stale: never restored); their keys. */
  prune(runtime: string): string[] {
    return this.#removeWhere((meta) => meta.runtime !== runtime || meta.format !== TEMPLATE_FORMAT);
  }

  /**
   * Hard links of the template's files at `links` (what a restored VM uses: the template can then be removed
   * while it runs). Throws when links cannot be made (another filesystem): the caller boots cold.
   */
  link(template: Template, links: TemplateLinks): void {
    for (const [from, to] of [
      [template.statePath, links.statePath],
      [template.ramPath, links.ramPath],
      [template.diskPath, links.diskPath],
    ] as const) {
      rmSync(to, { force: true });
      linkSync(from, to);
    }
  }

  #removeWhere(match: (meta: TemplateMeta) => boolean): string[] {
    const removed: string[] = [];
    for (const template of this.list()) {
      if (match(template.meta) && this.remove(template.meta.key)) removed.push(template.meta.key);
    }
    return removed;
  }

  #invalid(key: string, reason: string, onInvalid?: (reason: string) => void): void {
    onInvalid?.(reason);
    this.remove(key);
  }

  #read(dir: string): Template {
    const meta = JSON.parse(readFileSync(join(dir, TEMPLATE_FILES.meta), "utf8")) as TemplateMeta;
    const paths = {
      statePath: join(dir, TEMPLATE_FILES.state),
      ramPath: join(dir, TEMPLATE_FILES.ram),
      diskPath: join(dir, TEMPLATE_FILES.disk),
    };
    const childPath = join(dir, TEMPLATE_FILES.child);
    let diskBytes = 0;
    for (const path of [...Object.values(paths), childPath]) diskBytes += allocatedBytes(path);
    return {
      dir,
      meta,
      ...paths,
      childPath,
      consolePath: join(dir, TEMPLATE_FILES.console),
      diskBytes,
    };
  }
}

/** Why `template` cannot be restored as `key` on `runtime`, or undefined when it can. */
function checkTemplate(template: Template, key: string, runtime: string): string | undefined {
  const { meta } = template;
  if (meta.format !== TEMPLATE_FORMAT) return `format ${String(meta.format)}, expected ${TEMPLATE_FORMAT}`;
  if (meta.key !== key) return `meta.json names key ${meta.key}`;
  if (meta.runtime !== runtime) return "made on another runtime (kernel, initramfs or QEMU changed)";
  const state = readFileSync(template.statePath);
  if (state.length !== meta.stateBytes || sha256(state) !== meta.stateSha256) {
    return "the saved VM state does not match its checksum";
  }
  if (statSync(template.ramPath).size !== meta.memoryMib * MIB) return "the RAM file has the wrong size";
  if (!existsSync(template.diskPath)) return "the disk is missing";
  if (!existsSync(template.childPath)) return "the blank child disk is missing";
  return undefined;
}

/** SHA-256 (hex) of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Allocated bytes of `path`; 0 when it is missing (a damaged template still lists, and fails its checks). */
function allocatedBytes(path: string): number {
  try {
    return statSync(path).blocks * 512;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
