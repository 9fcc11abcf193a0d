/**
 * Secret values a restart needs, kept outside the database: sealed with AES-256-GCM under a per-install key
 * (`$MSB_HOME/keys/secrets.key`, 32 random bytes, 0600, in a 0700 directory) into a 0600 file in the sandbox's
 * directory, which goes with the sandbox. The additional data binds a file to its sandbox incarnation, so a
 * sealed file copied to another sandbox does not open there.
 *
 * @packageDocumentation
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { StoreError } from "../errors.js";

const MAGIC = Buffer.from("MSBSEAL1");
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** A sealed file is never larger than this (64 secrets of at most 16 KiB, with room). */
const MAX_SEALED_BYTES = 2 * 1024 * 1024;

/** The per-install key file under `home`. */
export function secretKeyPath(home: string): string {
  return join(home, "keys", "secrets.key");
}

/** The install's sealing key, made on first use (0600; concurrent first uses agree on one key). */
export function installKey(home: string): Buffer {
  const path = secretKeyPath(home);
  mkdirSync(join(home, "keys"), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(`${path}.${process.pid}.tmp`, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(KEY_BYTES));
    } finally {
      closeSync(fd);
    }
    try {
      // link() never replaces an existing file: the first writer wins, everyone reads the same key.
      linkSync(`${path}.${process.pid}.tmp`, path);
    } finally {
      rmSync(`${path}.${process.pid}.tmp`, { force: true });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw new StoreError(`the secrets key ${path} is damaged (${key.length} bytes, not ${KEY_BYTES})`, {
      hint: "remove it; sandboxes with secrets must then be created again",
    });
  }
  return key;
}

/** Seals `values` (secret env var → value) into `path` (0600), bound to `binding` (e.g. the sandbox id). */
export function sealSecrets(
  home: string,
  path: string,
  binding: string,
  values: Readonly<Record<string, string>>,
): void {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", installKey(home), iv);
  cipher.setAAD(Buffer.from(binding));
  const body = Buffer.concat([cipher.update(JSON.stringify(values)), cipher.final()]);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]), { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}

/** Opens what {@link sealSecrets} sealed. Throws {@link StoreError} when it is missing, damaged or not this sandbox's. */
export function openSealedSecrets(home: string, path: string, binding: string): Record<string, string> {
  let sealed: Buffer;
  try {
    sealed = readFileSync(path);
  } catch (err) {
    throw new StoreError(`the sandbox's sealed secrets (${path}) cannot be read`, {
      cause: err,
      hint: "a sandbox with secrets cannot start without them; create it again",
    });
  }
  const header = MAGIC.length + IV_BYTES + TAG_BYTES;
  if (
    sealed.length < header ||
    sealed.length > MAX_SEALED_BYTES ||
    !sealed.subarray(0, MAGIC.length).equals(MAGIC)
  ) {
    throw new StoreError(`the sandbox's sealed secrets (${path}) are damaged`, {
      hint: "create the sandbox again",
    });
  }
  const iv = sealed.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const tag = sealed.subarray(MAGIC.length + IV_BYTES, header);
  const decipher = createDecipheriv("aes-256-gcm", installKey(home), iv);
  decipher.setAAD(Buffer.from(binding));
  decipher.setAuthTag(tag);
  let text: string;
  try {
    text = Buffer.concat([decipher.update(sealed.subarray(header)), decipher.final()]).toString("utf8");
  } catch (err) {
    throw new StoreError(`the sandbox's sealed secrets (${path}) do not open with this installation's key`, {
      cause: err,
      hint: "they were sealed for another sandbox or another key; create the sandbox again",
    });
  }
  const values = JSON.parse(text) as unknown;
  if (
    typeof values !== "object" ||
    values === null ||
    Object.values(values).some((v) => typeof v !== "string")
  ) {
    throw new StoreError(`the sandbox's sealed secrets (${path}) are damaged`, {
      hint: "create the sandbox again",
    });
  }
  return values as Record<string, string>;
}
