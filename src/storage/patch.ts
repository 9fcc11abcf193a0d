/**
 * Rootfs patches, as the seed's `PatchConfig` and its `Patch` builders: changes made to a sandbox's own disk once,
 * at create, before its main process and before any exec (see `supervisor/rootfs-patches.ts`).
 */

/** The kinds of patch (the seed's `PatchKinds`). */
export const PATCH_KINDS = [
  "text",
  "file",
  "copyFile",
  "copyDir",
  "symlink",
  "mkdir",
  "remove",
  "append",
] as const;

/** A kind of patch. */
export type PatchKind = (typeof PATCH_KINDS)[number];

/**
 * A change to the root filesystem before start, as the seed's `PatchConfig`. Which fields a kind takes:
 * `text`/`file`: `path`, `content`, `mode?`, `replace?`; `mkdir`: `path`, `mode?`; `append`: `path`, `content`;
 * `copyFile`: `src` (host), `dst`, `mode?`, `replace?`; `copyDir`: `src` (host), `dst`, `replace?`;
 * `symlink`: `target`, `link`, `replace?`; `remove`: `path`.
 */
export interface PatchConfig {
  readonly kind: PatchKind;
  /** Guest path of `text`, `file`, `mkdir`, `append` and `remove`. */
  readonly path?: string;
  /** Contents (UTF-8) of `text`, `file` and `append`. */
  readonly content?: string;
  /** Host path of `copyFile` and `copyDir` (relative to the creator's working directory; stored absolute). */
  readonly src?: string;
  /** Guest path of `copyFile` and `copyDir`. */
  readonly dst?: string;
  /** What a `symlink` points at (any string, as `ln -s`). */
  readonly target?: string;
  /** Guest path of the `symlink`. */
  readonly link?: string;
  /** Permission bits (`0o644`...): of the file written, or the directory made. */
  readonly mode?: number;
  /** Overwrite what is already at the path (default false: an existing path fails the create). */
  readonly replace?: boolean;
}

/** Options of `Patch.text`, `Patch.mkdir` and `Patch.copyFile` (the seed's `PatchOptions`). */
export interface PatchOptions {
  readonly mode?: number;
  readonly replace?: boolean;
}

/** Options of `Patch.copyDir` and `Patch.symlink` (the seed's `PatchReplaceOptions`). */
export interface PatchReplaceOptions {
  readonly replace?: boolean;
}

/** Builders of {@link PatchConfig} (`patches: [Patch.text("/etc/motd", "hi")]`). */
export const Patch = {
  /** Writes a file with `content` (mode default 0o644). */
  text: (path: string, content: string, options: PatchOptions = {}): PatchConfig => ({
    kind: "text",
    path,
    content,
    ...options,
  }),
  /** Makes a directory and its parents (an existing directory is fine). */
  mkdir: (path: string, options: { mode?: number } = {}): PatchConfig => ({
    kind: "mkdir",
    path,
    ...options,
  }),
  /** Appends `content` to a file (made if missing). */
  append: (path: string, content: string): PatchConfig => ({ kind: "append", path, content }),
  /** Copies a host file to `dst` (mode default: the host file's). */
  copyFile: (src: string, dst: string, options: PatchOptions = {}): PatchConfig => ({
    kind: "copyFile",
    src,
    dst,
    ...options,
  }),
  /** Copies a host directory's tree to `dst` (modes, symlinks and times kept; owned by root). */
  copyDir: (src: string, dst: string, options: PatchReplaceOptions = {}): PatchConfig => ({
    kind: "copyDir",
    src,
    dst,
    ...options,
  }),
  /** Makes `link` a symlink to `target`. */
  symlink: (target: string, link: string, options: PatchReplaceOptions = {}): PatchConfig => ({
    kind: "symlink",
    target,
    link,
    ...options,
  }),
  /** Removes a path and everything below it (a missing path is fine). */
  remove: (path: string): PatchConfig => ({ kind: "remove", path }),
} as const;

/** The guest path a patch writes: its `path`, `dst` or `link`, and that field's name. */
export function patchTarget(patch: PatchConfig): { field: "path" | "dst" | "link"; path: string } {
  switch (patch.kind) {
    case "copyFile":
    case "copyDir":
      return { field: "dst", path: patch.dst ?? "" };
    case "symlink":
      return { field: "link", path: patch.link ?? "" };
    case "text":
    case "file":
    case "mkdir":
    case "append":
    case "remove":
      return { field: "path", path: patch.path ?? "" };
  }
}
