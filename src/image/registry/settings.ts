/**
 * Registry settings: Docker Hub mirrors (`MSB_REGISTRY_MIRRORS`, then `registry-mirrors` of the config file),
 * registries allowed over plain HTTP (`insecure-registries`; loopback registries always are), and extra CAs per
 * registry (`registry-ca`: host -> PEM file). The config file is `<MSB_HOME>/config.json`, Docker daemon.json-style:
 *
 * ```json
 * { "registry-mirrors": ["https://mirror.example"], "insecure-registries": ["10.0.0.5:5000"],
 *   "registry-ca": { "registry.internal:443": "/etc/ssl/internal-ca.pem" } }
 * ```
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { MsbEnv } from "../../config/env.js";
import { InvalidConfigError } from "../../errors.js";
import { isErrno } from "../fs-util.js";
import {
  ShapeError,
  arrayOf,
  asObject,
  asString,
  optionalObject,
  parseJson,
  stringMap,
} from "../json-shape.js";

/** How to reach registries. */
export interface RegistrySettings {
  /** Base URLs tried in order before Docker Hub, for Docker Hub images only. */
  readonly mirrors: readonly string[];
  /** Never contact Docker Hub itself: its images come from the mirrors only. */
  readonly mirrorsOnly: boolean;
  /** Registry hosts (`host[:port]`) reached over plain HTTP. Loopback hosts need not be listed. */
  readonly insecure: readonly string[];
  /** Extra trusted CA certificates (PEM text) per registry host. */
  readonly ca: Readonly<Record<string, string>>;
  /** Docker's `config.json`, for credentials. */
  readonly dockerConfigFile: string;
}

/** The config file's path under the state directory. */
export function configFilePath(home: string): string {
  return join(home, "config.json");
}

/** Reads the settings from the environment and `<home>/config.json` (absent file = defaults). */
export async function loadRegistrySettings(env: MsbEnv): Promise<RegistrySettings> {
  const file = configFilePath(env.home);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  try {
    const doc = text === undefined ? {} : asObject(parseJson(text, file), file);
    const mirrors = [
      ...env.registryMirrors,
      ...arrayOf(doc["registry-mirrors"], "registry-mirrors", asString),
    ];
    const insecure = arrayOf(doc["insecure-registries"], "insecure-registries", asString);
    const ca: Record<string, string> = {};
    for (const [host, path] of Object.entries(
      stringMap(optionalObject(doc["registry-ca"], "registry-ca"), "registry-ca"),
    )) {
      ca[host] = await readFile(path, "utf8").catch((error: unknown) => {
        throw new InvalidConfigError("registry-ca", `${file}: cannot read the CA of ${host} from ${path}`, {
          cause: error,
        });
      });
    }
    const mirrorsOnly = doc["registry-mirrors-only"];
    if (mirrorsOnly !== undefined && typeof mirrorsOnly !== "boolean") {
      throw new InvalidConfigError("registry-mirrors-only", `${file}: must be true or false`);
    }
    return validateSettings({
      mirrors: [...new Set(mirrors)],
      mirrorsOnly: env.registryMirrorsOnly || mirrorsOnly === true,
      insecure,
      ca,
      dockerConfigFile: env.dockerConfigFile,
    });
  } catch (error) {
    if (error instanceof ShapeError)
      throw new InvalidConfigError("configFile", `${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Checks mirror URLs (http(s), and plain HTTP only for loopback or insecure hosts). Returns the settings normalized. */
export function validateSettings(settings: RegistrySettings): RegistrySettings {
  const mirrors = settings.mirrors.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch (error) {
      throw new InvalidConfigError("registry-mirrors", `${JSON.stringify(text)} is not a URL`, {
        cause: error,
      });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new InvalidConfigError("registry-mirrors", `${JSON.stringify(text)} is not an http(s) URL`);
    }
    if (url.protocol === "http:" && !allowsPlainHttp(url.host, settings.insecure)) {
      throw new InvalidConfigError("registry-mirrors", `${JSON.stringify(text)} uses plain HTTP`, {
        hint: `use https, or list ${url.host} in insecure-registries`,
      });
    }
    return url.href.replace(/\/+$/, "");
  });
  return Object.freeze({ ...settings, mirrors });
}

/** True for registries reached over plain HTTP: loopback hosts and those listed as insecure. */
export function allowsPlainHttp(host: string, insecure: readonly string[]): boolean {
  return isLoopbackHost(host) || insecure.includes(host);
}

/** True for `localhost`, `127.0.0.0/8` and `[::1]`, with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
