/**
 * Debian's kernel source package (`linux-source-6.1`): which version apt offers (and the SHA-256 of its .deb,
 * which keys the build cache without downloading anything), and fetching it: `apt-get download`, `dpkg-deb -x`,
 * then unpacking the tarball it ships (`usr/src/linux-source-<series>.tar.xz`) into a scratch directory.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import type { Apt, DebPackageInfo } from "./apt.js";
import { findExecutable, run } from "./exec.js";

/** The Debian package holding the kernel source (same series as the cloud kernel: 6.1 on bookworm). */
export const KERNEL_SOURCE_PACKAGE = "linux-source-6.1";

/**
 * The candidate version of {@link KERNEL_SOURCE_PACKAGE} and its .deb's SHA-256.
 *
 * @throws SetupError when apt does not know the package.
 */
export async function resolveKernelSource(apt: Apt): Promise<DebPackageInfo> {
  return apt.packageInfo(KERNEL_SOURCE_PACKAGE);
}

function need(binary: string, pkg: string): string {
  const path = findExecutable(binary);
  if (path === undefined)
    throw new SetupError(`${binary} is missing`, { hint: `install the ${pkg} package` });
  return path;
}

/**
 * Downloads `pkg` into `workDir/deb`, unpacks it into `workDir/deb-root`, extracts its source tarball into
 * `workDir` and deletes the .deb and the tarball (about 140 MB) as soon as they are no longer needed.
 *
 * @returns the kernel source tree (the directory holding the top-level `Makefile`).
 * @throws SetupError when the download fails or the package does not hold exactly one source tarball.
 */
export async function fetchKernelSource(apt: Apt, pkg: DebPackageInfo, workDir: string): Promise<string> {
  const debDir = join(workDir, "deb");
  const debRoot = join(workDir, "deb-root");
  await mkdir(debDir, { recursive: true });
  await mkdir(debRoot, { recursive: true });
  const deb = await apt.download(pkg, debDir);
  await run(need("dpkg-deb", "dpkg"), ["-x", deb, debRoot]);
  await rm(debDir, { recursive: true, force: true });
  const srcDir = join(debRoot, "usr", "src");
  const tarballs = (await readdir(srcDir)).filter((n) => /^linux-source-.*\.tar\.(xz|gz|bz2)$/.test(n));
  const [tarball] = tarballs;
  if (tarball === undefined || tarballs.length !== 1) {
    throw new SetupError(`expected one linux-source tarball in ${pkg.name}, found ${tarballs.length}`);
  }
  await run(need("tar", "tar"), ["-xf", join(srcDir, tarball), "-C", workDir]);
  await rm(debRoot, { recursive: true, force: true });
  const tree = join(workDir, tarball.replace(/\.tar\.\w+$/, ""));
  const entries = await readdir(tree).catch((err: unknown) => {
    throw new SetupError(`the source tarball ${tarball} did not unpack into ${tree}`, { cause: err });
  });
  if (!entries.includes("Makefile")) throw new SetupError(`${tree} has no top-level Makefile`);
  return tree;
}
