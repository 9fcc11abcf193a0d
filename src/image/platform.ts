/** Platforms (`os/architecture[/variant]`): the host's, parsing, and selection from an image index. */
import { arch as hostArch } from "node:process";
import { InvalidConfigError } from "../errors.js";

/** An OCI platform. Architectures use Go's names (`amd64`, `arm64`), as registries do. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const NODE_TO_GO_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
};

/** The platform of this host (`linux/amd64`, `linux/arm64/v8`, ...). The guest OS is always linux. */
export function hostPlatform(): Platform {
  const architecture = NODE_TO_GO_ARCH[hostArch] ?? hostArch;
  if (architecture === "arm64") return { os: "linux", architecture, variant: "v8" };
  if (architecture === "arm") return { os: "linux", architecture, variant: "v7" };
  return { os: "linux", architecture };
}

/** Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`), throwing {@link InvalidConfigError} on anything else. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  const [os, architecture, variant] = parts;
  const valid = /^[a-z0-9._-]+$/;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !parts.every((p) => valid.test(p)) ||
    os === undefined ||
    architecture === undefined
  ) {
    throw new InvalidConfigError(
      "platform",
      `${JSON.stringify(text)} is not os/arch[/variant], e.g. linux/arm64`,
    );
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant]
    .filter((p) => p !== undefined && p !== "")
    .join("/");
}

/** Variants that mean "no variant": arm64 is v8 unless said otherwise, amd64 v1 is the baseline. */
function normalizedVariant(platform: Platform): string | undefined {
  const variant = platform.variant === "" ? undefined : platform.variant;
  if (platform.architecture === "arm64" && variant === "v8") return undefined;
  if (platform.architecture === "amd64" && variant === "v1") return undefined;
  return variant;
}

/**
 * Picks the entry of an index that runs on `wanted`: same os and architecture, then the exact variant, else an
 * entry without a variant, else (arm) the highest variant not above the wanted one. Returns undefined if none fits.
 */
export function selectPlatform<T extends { readonly platform?: Platform | undefined }>(
  entries: readonly T[],
  wanted: Platform,
): T | undefined {
  const sameArch = entries.filter(
    (e) =>
      e.platform !== undefined &&
      e.platform.os === wanted.os &&
      e.platform.architecture === wanted.architecture,
  );
  const want = normalizedVariant(wanted);
  const variantOf = (e: T): string | undefined =>
    e.platform === undefined ? undefined : normalizedVariant(e.platform);
  const exact = sameArch.find((e) => variantOf(e) === want);
  if (exact !== undefined) return exact;
  const plain = sameArch.find((e) => variantOf(e) === undefined);
  if (plain !== undefined || want === undefined) return plain;
  const level = (v: string | undefined): number => Number(/^v(\d+)$/.exec(v ?? "")?.[1] ?? NaN);
  const compatible = sameArch
    .filter((e) => level(variantOf(e)) <= level(want))
    .sort((a, b) => level(variantOf(b)) - level(variantOf(a)));
  return compatible[0];
}
