/**
 * The key of a VM template: a hash of everything a saved VM depends on. A template is restored only into a VM of
 * exactly its shape, on exactly the runtime that made it: any difference gives another key, so a stale template
 * is never found (and is pruned, see `TemplateStore.prune`).
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";

/** Version of the template layout and of what the key hashes: bumping it retires every template. */
export const TEMPLATE_FORMAT = 3;

/** What a template depends on. */
export interface TemplateInputs {
  /** The image whose base disk the template's disk is a child of. */
  readonly imageDigest: string;
  /** QEMU's argv for the template's VM, with its own paths replaced by fixed names (`vm/microvm.ts`). */
  readonly argv: readonly string[];
  /** The network the template's `net.configure` set up (JSON: its interface; `null` when not configured). */
  readonly network: string;
  /** Runtime files (kernel, initramfs, QEMU): a rebuilt or upgraded one makes every template of it stale. */
  readonly files: readonly string[];
}

/** A template's key and the identity of the runtime it was made on. */
export interface TemplateKey {
  /** Hex, names the template's directory. */
  readonly key: string;
  /** Hash of the runtime files' identities (path, size, modification time, inode). */
  readonly runtime: string;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The identity of a file that changes when it is replaced or rewritten. */
function fileIdentity(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${path}:${st.size}:${st.mtimeNs}:${st.ino}`;
}

/** Computes the key of the template for `inputs` (stats the runtime files: throws if one is missing). */
export function templateKey(inputs: TemplateInputs): TemplateKey {
  const runtime = sha256(JSON.stringify(inputs.files.map(fileIdentity)));
  const key = sha256(
    JSON.stringify({
      format: TEMPLATE_FORMAT,
      image: inputs.imageDigest,
      argv: inputs.argv,
      network: inputs.network,
      runtime,
    }),
  ).slice(0, 32);
  return { key, runtime };
}
