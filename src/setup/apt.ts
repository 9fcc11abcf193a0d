/**
 * The apt-get / apt-cache operations set-up uses: install packages, resolve the cloud kernel meta package to
 * its concrete image package, and download a .deb without installing it.
 */
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import { findExecutable, run } from "./exec.js";
import { isRoot } from "./host.js";
import type { SetupLog } from "./types.js";

/** A concrete Debian package version. */
export interface DebPackage {
  readonly name: string;
  readonly version: string;
}

/** A package version as apt's candidate, with the SHA-256 of its .deb as the archive publishes it. */
export interface DebPackageInfo extends DebPackage {
  readonly sha256: string;
}

/** Parses `Package`, `Version` and `SHA256` of the first stanza of `apt-cache show` output. */
export function parsePackageInfo(showOutput: string): DebPackageInfo | undefined {
  const stanza = showOutput.split(/\n\s*\n/)[0] ?? "";
  const field = (key: string): string | undefined =>
    new RegExp(`^${key}:\\s*(\\S+)\\s*$`, "m").exec(stanza)?.[1];
  const name = field("Package");
  const version = field("Version");
  const sha256 = field("SHA256");
  if (name === undefined || version === undefined || sha256 === undefined) return undefined;
  return /^[0-9a-f]{64}$/.test(sha256) ? { name, version, sha256 } : undefined;
}

/** Where apt keeps its package lists. */
export const APT_LISTS_DIR = "/var/lib/apt/lists";

/**
 * Parses the `Version:` of the first stanza of `apt-cache show` output and the first `linux-image-*`
 * alternative of its `Depends:` (with the exact version when it is pinned with `(= ...)`).
 */
export function parseKernelDependency(
  showOutput: string,
): { metaVersion: string; dependency: DebPackage | { name: string; version: undefined } } | undefined {
  const stanza = showOutput.split(/\n\s*\n/)[0] ?? "";
  const field = (key: string): string | undefined =>
    new RegExp(`^${key}:\\s*(.*)$`, "m").exec(stanza)?.[1]?.trim();
  const metaVersion = field("Version");
  const depends = field("Depends");
  if (metaVersion === undefined || depends === undefined) return undefined;
  for (const alternative of depends.split(/[,|]/)) {
    const match = /^\s*(linux-image-[^\s(]+)\s*(?:\(\s*=\s*([^\s)]+)\s*\))?/.exec(alternative);
    if (match?.[1] !== undefined) return { metaVersion, dependency: { name: match[1], version: match[2] } };
  }
  return undefined;
}

/**
 * A fingerprint of apt's package lists (names, sizes and mtimes of the files in {@link APT_LISTS_DIR}). It changes
 * when `apt-get update` fetched something new, so install() can skip the slow (~1 s) apt-cache query otherwise.
 */
export async function aptListsStamp(dir: string = APT_LISTS_DIR): Promise<string> {
  const names = (
    await readdir(dir).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    })
  )
    .filter((n) => n !== "lock" && n !== "partial")
    .sort();
  const parts = await Promise.all(
    names.map(async (name) => {
      const info = await stat(join(dir, name));
      return `${name}:${info.size}:${Math.trunc(info.mtimeMs)}`;
    }),
  );
  return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);
}

/** apt-get and apt-cache of this host. One instance per install() run: it remembers whether lists were updated. */
export class Apt {
  readonly #aptGet: string;
  readonly #aptCache: string;
  readonly #log: SetupLog;
  #updated = false;

  private constructor(aptGet: string, aptCache: string, log: SetupLog) {
    this.#aptGet = aptGet;
    this.#aptCache = aptCache;
    this.#log = log;
  }

  /** The host's apt, or `undefined` when apt-get or apt-cache is missing (not a Debian-based host). */
  static find(log: SetupLog): Apt | undefined {
    const aptGet = findExecutable("apt-get");
    const aptCache = findExecutable("apt-cache");
    return aptGet === undefined || aptCache === undefined ? undefined : new Apt(aptGet, aptCache, log);
  }

  /** Forwards apt's output lines to the log, without dpkg's "(Reading database ... 35%" progress ticks. */
  readonly #relay = (line: string): void => {
    if (!/^\(Reading database \.\.\. \d+%\s*$/.test(line)) this.#log(`  ${line}`);
  };

  #env(): Record<string, string> {
    return { DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
  }

  /** Runs `apt-get update` the first time it is called on this instance (needs root). */
  async update(): Promise<void> {
    if (this.#updated) return;
    this.#log("apt-get update");
    await run(this.#aptGet, ["update"], {
      env: this.#env(),
      onLine: this.#relay,
    });
    this.#updated = true;
  }

  /** `apt-get update` (once), then `apt-get install -y --no-install-recommends <packages>`, streaming output. */
  async install(packages: readonly string[]): Promise<void> {
    await this.update();
    this.#log(`apt-get install ${packages.join(" ")}`);
    await run(this.#aptGet, ["install", "-y", "--no-install-recommends", ...packages], {
      env: this.#env(),
      onLine: this.#relay,
    });
  }

  async #show(pkg: string): Promise<string> {
    const { stdout } = await run(this.#aptCache, ["show", "--no-all-versions", pkg], { env: this.#env() });
    return stdout.toString("utf8");
  }

  /** `apt-cache show` of `pkg`, updating the lists once (as root) when apt does not know it. */
  async #showOrUpdate(pkg: string): Promise<string> {
    return this.#show(pkg).catch(async (err: unknown) => {
      if (!isRoot() || this.#updated) {
        throw new SetupError(`apt does not know ${pkg}`, {
          cause: err,
          hint: "run `sudo apt-get update` (the package lists may be empty) on a Debian 12 host",
        });
      }
      await this.update();
      return this.#show(pkg);
    });
  }

  /**
   * The candidate version of `pkg` and the SHA-256 of its .deb, from the package lists (nothing is downloaded).
   *
   * @throws SetupError when apt does not know the package or its record has no SHA256 field.
   */
  async packageInfo(pkg: string): Promise<DebPackageInfo> {
    const info = parsePackageInfo(await this.#showOrUpdate(pkg));
    if (info === undefined) throw new SetupError(`apt-cache show ${pkg} has no Version or SHA256`);
    return info;
  }

  /**
   * Resolves a kernel meta package (`linux-image-cloud-amd64`) to the concrete image package its candidate
   * version depends on. When apt knows no such package and we are root, updates the lists once and retries.
   *
   * @throws SetupError when the package is unknown or its dependency cannot be parsed.
   */
  async resolveKernelPackage(metaPackage: string): Promise<DebPackage> {
    const show = await this.#showOrUpdate(metaPackage);
    const parsed = parseKernelDependency(show);
    if (parsed === undefined)
      throw new SetupError(`cannot find the kernel image package ${metaPackage} depends on`);
    const { name, version } = parsed.dependency;
    if (version !== undefined) return { name, version };
    const concrete = /^Version:\s*(\S+)/m.exec(await this.#show(name))?.[1];
    if (concrete === undefined) throw new SetupError(`cannot find the version of ${name}`);
    return { name, version: concrete };
  }

  /**
   * Downloads the .deb of `pkg` into `dir` (without installing it) and returns its path. As root, apt's
   * sandbox user is set to root so apt does not warn that `_apt` cannot write to `dir`.
   */
  async download(pkg: DebPackage, dir: string): Promise<string> {
    const sandbox = isRoot() ? ["-o", "APT::Sandbox::User=root"] : [];
    await run(this.#aptGet, [...sandbox, "download", `${pkg.name}=${pkg.version}`], {
      cwd: dir,
      env: this.#env(),
      onLine: this.#relay,
      hint: "check the network and the apt sources (`apt-get update`)",
    });
    const deb = (await readdir(dir)).find((n) => n.startsWith(`${pkg.name}_`) && n.endsWith(".deb"));
    if (deb === undefined) throw new SetupError(`apt-get download left no .deb for ${pkg.name} in ${dir}`);
    return join(dir, deb);
  }
}
