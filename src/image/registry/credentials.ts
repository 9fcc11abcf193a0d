/**
 * Registry credentials: given explicitly (the sandbox config's `registryAuth`), or read from Docker's
 * `~/.docker/config.json` (`auths`: `auth` = base64 `user:password`, or `username`/`password`). Credential helpers
 * (`credsStore`, `credHelpers`) are not run.
 */
import { readFile } from "node:fs/promises";
import { InvalidConfigError } from "../../errors.js";
import { isErrno } from "../fs-util.js";
import { ShapeError, asObject, optionalObject, optionalString, parseJson } from "../json-shape.js";
import { DOCKER_HUB } from "../reference.js";

/** A username and password (or access token) for one registry. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Canonical registry name of a `config.json` `auths` key (`https://index.docker.io/v1/` -> `docker.io`). */
export function authKeyRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/** Reads the credentials for `registry` from a Docker config file; undefined when there are none (or no file). */
export async function dockerConfigCredentials(
  file: string,
  registry: string,
): Promise<RegistryCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
  try {
    const auths = optionalObject(asObject(parseJson(text, file), file)["auths"], `${file}: auths`) ?? {};
    for (const [key, value] of Object.entries(auths)) {
      if (authKeyRegistry(key) !== registry) continue;
      const credentials = entryCredentials(asObject(value, `${file}: auths.${key}`), `${file}: auths.${key}`);
      if (credentials !== undefined) return credentials;
    }
    return undefined;
  } catch (error) {
    if (error instanceof ShapeError)
      throw new InvalidConfigError("dockerConfig", error.message, { cause: error });
    throw error;
  }
}

function entryCredentials(
  entry: Readonly<Record<string, unknown>>,
  what: string,
): RegistryCredentials | undefined {
  const auth = optionalString(entry["auth"], `${what}.auth`);
  if (auth !== undefined && auth !== "") {
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) throw new ShapeError(`${what}.auth is not base64 of "user:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = optionalString(entry["username"], `${what}.username`);
  const password = optionalString(entry["password"], `${what}.password`);
  return username !== undefined && password !== undefined ? { username, password } : undefined;
}
