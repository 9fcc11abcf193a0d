/**
 * Fetches Debian's cloud kernel without installing it on the host: `apt-get download` the concrete
 * `linux-image-<version>-cloud-<arch>` package and unpack it with `dpkg-deb -x` into a scratch directory.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { SetupError } from "../errors.js";
import type { Apt, DebPackage } from "./apt.js";
import { findExecutable, run } from "./exec.js";

/** The interesting parts of an unpacked kernel image package. */
export interface UnpackedKernel {
  /** Kernel release, from the `boot/vmlinuz-<release>` file name (`6.1.0-56-cloud-amd64`). */
  readonly kernelVersion: string;
  /** Path of the packaged kernel (`boot/vmlinuz-<release>`). */
  readonly vmlinuz: string;
  /** The package's `lib/modules/<release>` directory. */
  readonly modulesRoot: string;
}

/**
 * Finds the kernel and its modules in an unpacked kernel package rooted at `root`.
 *
 * @throws SetupError when there is not exactly one `boot/vmlinuz-*` or no module directory for it.
 */
export async function locateUnpackedKernel(root: string): Promise<UnpackedKernel> {
  const kernels = (await readdir(join(root, "boot"))).filter((n) => n.startsWith("vmlinuz-"));
  const [name] = kernels;
  if (kernels.length !== 1 || name === undefined) {
    throw new SetupError(`expected one boot/vmlinuz-* in the kernel package, found ${kernels.length}`);
  }
  const kernelVersion = name.slice("vmlinuz-".length);
  const modulesRoot = ["lib", "usr/lib"]
    .map((d) => join(root, d, "modules", kernelVersion))
    .find((d) => existsSync(d));
  if (modulesRoot === undefined)
    throw new SetupError(`the kernel package has no modules for ${kernelVersion}`);
  return { kernelVersion, vmlinuz: join(root, "boot", name), modulesRoot };
}

/**
 * Downloads `pkg` into `workDir/deb` and unpacks it into `workDir/root`.
 *
 * @param workDir - an empty scratch directory owned by the current user.
 */
export async function fetchKernelPackage(
  apt: Apt,
  pkg: DebPackage,
  workDir: string,
): Promise<UnpackedKernel> {
  const debDir = join(workDir, "deb");
  const root = join(workDir, "root");
  await mkdir(debDir, { recursive: true });
  await mkdir(root, { recursive: true });
  const deb = await apt.download(pkg, debDir);
  const dpkgDeb = findExecutable("dpkg-deb");
  if (dpkgDeb === undefined)
    throw new SetupError("dpkg-deb is missing", { hint: "install the dpkg package" });
  await run(dpkgDeb, ["-x", deb, root]);
  return locateUnpackedKernel(root);
}
