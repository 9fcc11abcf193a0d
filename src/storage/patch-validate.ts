/**
 * Validation of `patches` and `scripts`. The shape checks are pure and run on every boot's config; host sources
 * (`copyFile`/`copyDir`) are resolved and checked only at create ({@link resolvePatchSources}), where they are read.
 */
import { statSync } from "node:fs";
import { posix, resolve } from "node:path";
import { failConfig as fail, guestPath } from "../config/invalid.js";
import { InvalidConfigError } from "../errors.js";
import { PATCH_KINDS, patchTarget } from "./patch.js";
import type { PatchConfig, PatchKind } from "./patch.js";

/** Bounds on patches and scripts (they travel in the supervisor's spec and are stored with the config). */
export const PATCH_LIMITS = {
  maxPatches: 1024,
  /** Bytes of one patch's `content`. */
  maxContentBytes: 16 * 1024 * 1024,
  /** Bytes of every `content` together. */
  maxTotalContentBytes: 32 * 1024 * 1024,
  /** Bytes of a generated network file (`/etc/hosts`, `/etc/resolv.conf`) after its patches (the agent takes 64 KiB). */
  maxNetFileBytes: 60 * 1024,
  maxScripts: 256,
  maxScriptBytes: 1024 * 1024,
  maxTotalScriptBytes: 8 * 1024 * 1024,
} as const;

/**
 * Files the network set-up bind-mounts at every boot from generated contents: patches to them (`text`, `file`,
 * `append`) are applied to those contents at every boot, so they show in the guest.
 */
export const NET_FILES = { "/etc/hosts": "hosts", "/etc/resolv.conf": "resolvConf" } as const;

/** The generated network file a guest path names, if any. */
export function netFileOf(path: string): "hosts" | "resolvConf" | undefined {
  const normalized = posix.normalize(path);
  return Object.hasOwn(NET_FILES, normalized) ? NET_FILES[normalized as keyof typeof NET_FILES] : undefined;
}

/** The fields each kind takes (`kind` aside); the first ones listed are required. */
const FIELDS: Record<PatchKind, { required: readonly string[]; optional: readonly string[] }> = {
  text: { required: ["path", "content"], optional: ["mode", "replace"] },
  file: { required: ["path", "content"], optional: ["mode", "replace"] },
  mkdir: { required: ["path"], optional: ["mode"] },
  append: { required: ["path", "content"], optional: [] },
  copyFile: { required: ["src", "dst"], optional: ["mode", "replace"] },
  copyDir: { required: ["src", "dst"], optional: ["replace"] },
  symlink: { required: ["target", "link"], optional: ["replace"] },
  remove: { required: ["path"], optional: [] },
};

/** Validates `patches` (shape only: host sources are checked at create). Throws {@link InvalidConfigError}. */
export function validatePatches(value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail("patches", "must be an array of patches (Patch.text(...), ...)");
  if (value.length > PATCH_LIMITS.maxPatches)
    fail("patches", `must hold at most ${PATCH_LIMITS.maxPatches} patches`);
  let total = 0;
  const netBytes = { hosts: 0, resolvConf: 0 };
  (value as unknown[]).forEach((item, index) => {
    const at = `patches[${index}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) fail(at, "must be a patch object");
    const patch = item as Record<string, unknown>;
    const kind = patch["kind"];
    if (typeof kind !== "string" || !(PATCH_KINDS as readonly string[]).includes(kind)) {
      fail(`${at}.kind`, `${JSON.stringify(kind)} is not one of ${PATCH_KINDS.join(", ")}`);
    }
    const fields = FIELDS[kind as PatchKind];
    for (const key of Object.keys(patch)) {
      if (key !== "kind" && !fields.required.includes(key) && !fields.optional.includes(key)) {
        if (patch[key] === undefined) continue;
        fail(`${at}.${key}`, `is not an option of a ${kind} patch`);
      }
    }
    for (const key of fields.required) {
      if (patch[key] === undefined) fail(`${at}.${key}`, `is required by a ${kind} patch`);
    }
    for (const key of ["path", "dst", "link"]) {
      if (patch[key] !== undefined) guestPath(`${at}.${key}`, patch[key]);
    }
    const content = patch["content"];
    if (content !== undefined) {
      if (typeof content !== "string") fail(`${at}.content`, "must be a string");
      const bytes = Buffer.byteLength(content);
      if (bytes > PATCH_LIMITS.maxContentBytes)
        fail(`${at}.content`, `must be at most ${PATCH_LIMITS.maxContentBytes} bytes`, "use Patch.copyFile");
      total += bytes;
      if (content.includes("\0") && netFileOf(String(patch["path"])) !== undefined)
        fail(`${at}.content`, "must not contain a NUL byte");
    }
    const target = patch["target"];
    if (target !== undefined && (typeof target !== "string" || target === "" || target.includes("\0")))
      fail(`${at}.target`, "must be a non-empty string without NUL");
    const src = patch["src"];
    if (src !== undefined && (typeof src !== "string" || src === "" || src.includes("\0")))
      fail(`${at}.src`, "must be a non-empty host path");
    const mode = patch["mode"];
    if (
      mode !== undefined &&
      (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    )
      fail(`${at}.mode`, `must be permission bits from 0 to 0o7777, got ${JSON.stringify(mode)}`);
    if (patch["replace"] !== undefined && typeof patch["replace"] !== "boolean")
      fail(`${at}.replace`, "must be a boolean");
    const { field, path } = patchTarget(patch as unknown as PatchConfig);
    const net = netFileOf(path);
    if (net !== undefined) {
      if (kind !== "text" && kind !== "file" && kind !== "append") {
        fail(
          `${at}.${field}`,
          `${path} is generated by the network set-up at every boot; only text and append patches apply to it`,
        );
      }
      if (mode !== undefined) fail(`${at}.mode`, `${path} is generated at every boot with a fixed mode`);
      if (kind !== "append" && patch["replace"] !== true) {
        fail(`${at}.replace`, `${path} always exists (the network set-up makes it)`, "set replace: true");
      }
      const bytes = Buffer.byteLength(content as string);
      netBytes[net] = kind === "append" ? netBytes[net] + bytes : bytes;
      if (netBytes[net] > PATCH_LIMITS.maxNetFileBytes)
        fail(`${at}.content`, `${path} must stay under ${PATCH_LIMITS.maxNetFileBytes} bytes`);
    }
  });
  if (total > PATCH_LIMITS.maxTotalContentBytes)
    fail(
      "patches",
      `contents must total at most ${PATCH_LIMITS.maxTotalContentBytes} bytes`,
      "use Patch.copyFile",
    );
}

/**
 * The patches with their host sources resolved against `cwd` and checked (a `copyFile` source must be a file,
 * a `copyDir` source a directory). Returns new patch objects with absolute `src`, as they are stored.
 */
export function resolvePatchSources(patches: readonly PatchConfig[], cwd: string): PatchConfig[] {
  return patches.map((patch, index) => {
    if (patch.kind !== "copyFile" && patch.kind !== "copyDir") return patch;
    const field = `patches[${index}].src`;
    const src = resolve(cwd, patch.src ?? "");
    let isDir: boolean;
    try {
      const st = statSync(src);
      if (!st.isFile() && !st.isDirectory()) fail(field, `${src} is neither a file nor a directory`);
      isDir = st.isDirectory();
    } catch (err) {
      if (err instanceof InvalidConfigError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      fail(
        field,
        `cannot read ${src} (${code})`,
        "the source is a host path, relative to the current directory",
      );
    }
    if (patch.kind === "copyFile" && isDir) fail(field, `${src} is a directory`, "use Patch.copyDir");
    if (patch.kind === "copyDir" && !isDir) fail(field, `${src} is not a directory`, "use Patch.copyFile");
    return { ...patch, src };
  });
}

const SCRIPT_NAME = /^[^/\0]{1,255}$/;

/** Validates `scripts: { name: body }` (names are file names; bodies bounded). Throws {@link InvalidConfigError}. */
export function validateScripts(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail("scripts", "must be an object { name: body }");
  const entries = Object.entries(value);
  if (entries.length > PATCH_LIMITS.maxScripts)
    fail("scripts", `must hold at most ${PATCH_LIMITS.maxScripts}`);
  let total = 0;
  for (const [name, body] of entries) {
    const field = `scripts.${name}`;
    if (!SCRIPT_NAME.test(name) || name === "." || name === "..")
      fail(field, `${JSON.stringify(name)} is not a file name (no '/', not '.' or '..', 1-255 bytes)`);
    if (typeof body !== "string") fail(field, "must be a string (the script's body)");
    const bytes = Buffer.byteLength(body);
    if (bytes > PATCH_LIMITS.maxScriptBytes)
      fail(field, `must be at most ${PATCH_LIMITS.maxScriptBytes} bytes`);
    total += bytes;
  }
  if (total > PATCH_LIMITS.maxTotalScriptBytes)
    fail("scripts", `must total at most ${PATCH_LIMITS.maxTotalScriptBytes} bytes`);
}
