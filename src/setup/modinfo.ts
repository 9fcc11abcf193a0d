/**
 * Reads what `modinfo` would print from a kernel module (`.ko`): the NUL-separated `key=value` strings of its
 * ELF `.modinfo` section. We need it because the Debian kernel package ships no `modules.dep`, and running
 * `depmod` would need kmod on the host.
 */
import { SetupError } from "../errors.js";
import { parseElf, sectionData } from "./elf.js";

/** What set-up needs to know about one kernel module. */
export interface ModuleInfo {
  /** Normalised module name (see {@link normaliseModuleName}). */
  readonly name: string;
  /** Normalised names of the modules that must be loaded first (`depends=`). */
  readonly depends: readonly string[];
  /** Normalised names from the `pre:` part of `softdep=`: loaded first when the kernel has them. */
  readonly softPre: readonly string[];
  /** `vermagic=`: starts with the kernel release the module was built for. */
  readonly vermagic: string | undefined;
}

/**
 * The kernel treats `-` and `_` in module names as the same character; file names and `depends=` lists mix them
 * (`virtio-rng.ko` is module `virtio_rng`). Normalises to `_`.
 */
export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, "_");
}

/** The module name a file name stands for: `virtio-rng.ko` -> `virtio_rng`. */
export function moduleNameOfFile(fileName: string): string {
  return normaliseModuleName(fileName.replace(/\.ko(\.(xz|zst|gz))?$/, ""));
}

/**
 * Splits a `.modinfo` section into its `key=value` pairs. Keys may repeat (`alias`, `parm`), so each maps to the
 * list of its values in order of appearance. Empty strings (padding) are skipped.
 */
export function parseModinfoSection(section: Uint8Array): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const entry of Buffer.from(section.buffer, section.byteOffset, section.byteLength)
    .toString("utf8")
    .split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const values = fields.get(key) ?? [];
    values.push(entry.slice(eq + 1));
    fields.set(key, values);
  }
  return fields;
}

function nameList(value: string | undefined, separator: RegExp): string[] {
  return (value ?? "")
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(normaliseModuleName);
}

/** The module names listed after `pre:` in a `softdep=` value such as `pre: crc32c post: foo`. */
export function softdepPre(value: string | undefined): string[] {
  const match = /(?:^|\s)pre:\s*(.*?)(?:\s+post:|$)/.exec(value ?? "");
  return nameList(match?.[1], /\s+/);
}

/**
 * Reads the {@link ModuleInfo} of an uncompressed kernel module.
 *
 * @param data - the whole `.ko` file.
 * @param fileName - its file name, used as the name when `.modinfo` carries no `name=` and in errors.
 * @throws SetupError when the file is not an ELF relocatable object with a `.modinfo` section.
 */
export function readModuleInfo(data: Uint8Array, fileName: string): ModuleInfo {
  const elf = parseElf(data, fileName);
  const section = sectionData(data, elf, ".modinfo");
  if (elf.type !== 1 || section === undefined) {
    throw new SetupError(`${fileName} is not a kernel module (no .modinfo section)`);
  }
  const fields = parseModinfoSection(section);
  const first = (key: string): string | undefined => fields.get(key)?.[0];
  return {
    name: normaliseModuleName(first("name") ?? moduleNameOfFile(fileName)),
    depends: nameList(first("depends"), /,/),
    softPre: (fields.get("softdep") ?? []).flatMap(softdepPre),
    vermagic: first("vermagic"),
  };
}
