/**
 * Makes the guest trust the sandbox's TLS interception CA, at every boot, through the agent's own file
 * operations as root (as `rootfs-patches.ts` writes scripts): the certificate at {@link GUEST_CA_PATH}, and the
 * marked block at the end of every system bundle the image has (a bundle reached through a symlink is written
 * through it), or a new bundle when it has none. Everything is written to the sandbox's own disk (its qcow2
 * overlay), never to the image's shared base. Bundles are the guest's files: each read is bounded.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AgentConnection } from "../agent-client/connection.js";
import { OperationReadable, OperationWritable } from "../agent-client/operation-streams.js";
import type { ReplyError } from "../agent-client/reply-error.js";
import { FsError } from "../errors.js";
import {
  CREATED_BUNDLE,
  GUEST_CA_PATH,
  MAX_BUNDLE_BYTES,
  SYSTEM_BUNDLES,
  normalizeCaPem,
  withCaBlock,
} from "./guest-ca.js";

/** What {@link installGuestCa} did. */
export interface GuestCaResult {
  /** The bundle the environment names (`SSL_CERT_FILE`...): the first system bundle, or the one created. */
  readonly bundle: string;
  /** Bundles written now (a bundle already holding the block, or reached again through a link, is not). */
  readonly written: readonly string[];
  /** True when the image had no bundle and {@link CREATED_BUNDLE} was made. */
  readonly created: boolean;
  /** Bundles left alone, with why (too large, not a regular file...). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** Installs `caCertPem` (PEM certificates; checked) in the guest. */
export async function installGuestCa(agent: AgentConnection, caCertPem: string): Promise<GuestCaResult> {
  const ca = normalizeCaPem(caCertPem);
  await writeFile(agent, GUEST_CA_PATH, ca, 0o644);
  const written: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let bundle: string | undefined;
  for (const path of SYSTEM_BUNDLES) {
    const current = await readBounded(agent, path);
    if (current.kind === "missing") continue;
    if (current.kind === "unusable") {
      skipped.push({ path, reason: current.reason });
      continue;
    }
    bundle ??= path;
    const next = withCaBlock(current.text, ca);
    if (next === current.text) continue; // already there (this boot through another name, or an earlier boot)
    await writeFile(agent, path, next);
    written.push(path);
  }
  if (bundle !== undefined) return { bundle, written, created: false, skipped };
  await writeFile(agent, CREATED_BUNDLE, withCaBlock("", ca), 0o644);
  return { bundle: CREATED_BUNDLE, written: [CREATED_BUNDLE], created: true, skipped };
}

type BundleText =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "missing" }
  | { readonly kind: "unusable"; readonly reason: string };

/** Reads a guest file of at most {@link MAX_BUNDLE_BYTES} (the agent is asked for one byte more, no more). */
async function readBounded(agent: AgentConnection, path: string): Promise<BundleText> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const stream = new OperationReadable(
      agent,
      { type: "fs.read", path, offset: 0, length: MAX_BUNDLE_BYTES + 1 },
      replyError(path),
    );
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BUNDLE_BYTES) {
        stream.destroy();
        return { kind: "unusable", reason: `larger than ${MAX_BUNDLE_BYTES} bytes` };
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    // Missing, or a link to nothing: the image does not have this bundle.
    if (err.errno === "ENOENT" || err.errno === "ENOTDIR") return { kind: "missing" };
    return { kind: "unusable", reason: err.message };
  }
  return { kind: "text", text: Buffer.concat(chunks, size).toString("utf8") };
}

/** Replaces a guest file atomically (through symlinks; parents created; a replaced file keeps its mode). */
async function writeFile(agent: AgentConnection, path: string, text: string, mode?: number): Promise<void> {
  const message = { type: "fs.write" as const, path, ...(mode === undefined ? {} : { mode }) };
  await pipeline(Readable.from([Buffer.from(text)]), new OperationWritable(agent, message, replyError(path)));
}

function replyError(path: string): ReplyError {
  return (reply) => new FsError(reply.code, path, `${path}: ${reply.message}`);
}
