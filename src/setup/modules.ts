/**
 * Chooses the kernel modules that go into the initramfs and the order in which the guest loads them, without
 * `depmod`: dependencies come from each module's `.modinfo` (see {@link readModuleInfo}).
 */
import { readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { SetupError } from "../errors.js";
import { moduleNameOfFile, normaliseModuleName, readModuleInfo } from "./modinfo.js";

/**
 * Modules the guest needs from the Debian cloud kernel (where every virtio driver is a module; ext4 is built in).
 * Their dependencies are added automatically. Extend this list to give the guest more drivers. Every device we
 * attach is virtio-mmio (microvm on x86_64, virt on arm64), so virtio_pci is deliberately absent: it costs boot
 * time (module loading is ~25 ms a module under TCG) for devices that never exist.
 */
export const REQUIRED_MODULES: readonly string[] = Object.freeze([
  "virtio_mmio",
  "virtio_blk",
  "virtio_console",
  "virtio_net",
  "virtio_rng",
]);

/**
 * Modules virtio-fs needs (`fuse` comes as its dependency). They go into the initramfs with their own list
 * (`/modules/virtiofs.order`) and the agent loads them only when `init` carries a virtio-fs mount, before the
 * root switch: a sandbox without a shared folder does not pay their load time.
 */
export const VIRTIOFS_MODULES: readonly string[] = Object.freeze(["virtiofs"]);

/** Everything set-up asks the kernel for, as the manifest records it (`modules.requested`). */
export const REQUESTED_MODULES: readonly string[] = Object.freeze([...REQUIRED_MODULES, ...VIRTIOFS_MODULES]);

/**
 * The modules to load on demand for virtio-fs: those of `all` (the load order of {@link REQUESTED_MODULES}) that
 * are not in `boot` (the load order of {@link REQUIRED_MODULES}), in load order.
 */
export function onDemandModules<T extends { readonly name: string }>(
  all: readonly T[],
  boot: readonly { readonly name: string }[],
): T[] {
  const loaded = new Set(boot.map((m) => m.name));
  return all.filter((m) => !loaded.has(m.name));
}

/** The modules found under `lib/modules/<version>/` of an unpacked kernel package. */
export interface ModuleTree {
  /** Normalised module name -> absolute path of its uncompressed `.ko`. */
  readonly files: ReadonlyMap<string, string>;
  /** Normalised module name -> absolute path of a compressed `.ko.xz`/`.ko.zst`/`.ko.gz` (not supported). */
  readonly compressed: ReadonlyMap<string, string>;
  /** Normalised names of modules built into the kernel (`modules.builtin`): dependencies on them are satisfied. */
  readonly builtin: ReadonlySet<string>;
}

/** One module chosen for the initramfs. */
export interface ResolvedModule {
  /** Normalised module name. */
  readonly name: string;
  /** Absolute path of the `.ko` in the unpacked package. */
  readonly path: string;
  /** Its file name (`virtio-rng.ko`): the name it gets in the initramfs and in `/modules/order`. */
  readonly fileName: string;
}

async function walk(dir: string, out: string[]): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, out);
    else if (entry.isFile() && /\.ko(\.(xz|zst|gz))?$/.test(entry.name)) out.push(path);
  }
  return out;
}

async function readBuiltin(root: string): Promise<Set<string>> {
  const text = await readFile(join(root, "modules.builtin"), "utf8").catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  });
  return new Set(
    text
      .split("\n")
      .filter((line) => line.trim().length > 0)
      .map((line) => moduleNameOfFile(basename(line.trim()))),
  );
}

/** Indexes every module file under `root` (a `lib/modules/<version>` directory). */
export async function indexModuleTree(root: string): Promise<ModuleTree> {
  const files = new Map<string, string>();
  const compressed = new Map<string, string>();
  for (const path of (await walk(root, [])).sort()) {
    const name = moduleNameOfFile(basename(path));
    const target = path.endsWith(".ko") ? files : compressed;
    if (!target.has(name)) target.set(name, path);
  }
  return { files, compressed, builtin: await readBuiltin(root) };
}

/**
 * Orders modules so that each comes after everything it depends on (depth-first, stable: follows the order of
 * `required` and of each dependency list).
 *
 * @param required - the modules asked for (normalised names).
 * @param graph - for every module reachable from `required`, the modules it needs first.
 * @throws SetupError on a dependency cycle or a module missing from `graph`.
 */
export function moduleLoadOrder(
  required: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: readonly string[]): void => {
    const seen = state.get(name);
    if (seen === "done") return;
    if (seen === "visiting")
      throw new SetupError(`kernel module dependency cycle: ${[...path, name].join(" -> ")}`);
    const deps = graph.get(name);
    if (deps === undefined) throw new SetupError(`kernel module ${name} is not in the dependency graph`);
    state.set(name, "visiting");
    for (const dep of deps) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const name of required) visit(normaliseModuleName(name), []);
  return order;
}

function lookup(tree: ModuleTree, name: string, neededBy: string | undefined, kernelVersion: string): string {
  const path = tree.files.get(name);
  if (path !== undefined) return path;
  const by = neededBy === undefined ? "" : ` (needed by ${neededBy})`;
  const packed = tree.compressed.get(name);
  if (packed !== undefined) {
    throw new SetupError(
      `kernel module ${name}${by} is compressed (${basename(packed)}); only plain .ko is supported`,
      {
        hint: "use a kernel package that ships uncompressed modules, or add decompression to src/setup/modules.ts",
      },
    );
  }
  throw new SetupError(`kernel module ${name}${by} is not in kernel ${kernelVersion}`, {
    hint: "check REQUIRED_MODULES in src/setup/modules.ts against the kernel's config",
  });
}

/**
 * Finds `required` and everything they depend on in `tree`, checks each was built for `kernelVersion`, and
 * returns them in load order. Dependencies on built-in modules are dropped; `softdep` `pre:` modules are added
 * when the kernel has them.
 *
 * @throws SetupError when a module is missing, compressed, built for another kernel, or the dependencies cycle.
 */
export async function resolveModules(
  tree: ModuleTree,
  required: readonly string[],
  kernelVersion: string,
): Promise<ResolvedModule[]> {
  const graph = new Map<string, string[]>();
  const paths = new Map<string, string>();
  const queue: { name: string; neededBy: string | undefined }[] = required.map((name) => ({
    name: normaliseModuleName(name),
    neededBy: undefined,
  }));
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { name, neededBy } = item;
    if (graph.has(name)) continue;
    const path = lookup(tree, name, neededBy, kernelVersion);
    const info = readModuleInfo(await readFile(path), basename(path));
    if (info.vermagic !== undefined && info.vermagic.split(" ")[0] !== kernelVersion) {
      throw new SetupError(
        `kernel module ${basename(path)} was built for ${info.vermagic}, not ${kernelVersion}`,
      );
    }
    const soft = info.softPre.filter((dep) => tree.files.has(dep));
    const deps = [...soft, ...info.depends].filter((dep) => !tree.builtin.has(dep) || tree.files.has(dep));
    graph.set(name, deps);
    paths.set(name, path);
    for (const dep of deps) queue.push({ name: dep, neededBy: name });
  }
  return moduleLoadOrder(required, graph).map((name) => {
    const path = paths.get(name) ?? lookup(tree, name, undefined, kernelVersion);
    return { name, path, fileName: basename(path) };
  });
}
