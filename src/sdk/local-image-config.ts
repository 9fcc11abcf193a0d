/** The image config of a local root (a host directory or disk): none comes with it, so sane defaults. */
import type { ImageConfig } from "../image/image-config.js";
import type { ImageService } from "../image/image-service.js";
import { isLocalImage } from "../image/rootfs/local-root.js";
import type { SandboxRecord } from "../store/sandbox-repository.js";
import { DEFAULT_PATH } from "./defaults.js";

/** What a sandbox on a local root runs with: `PATH` set, root, `/`, no entrypoint. */
export const LOCAL_IMAGE_CONFIG: ImageConfig = {
  os: "linux",
  architecture: process.arch === "arm64" ? "arm64" : "amd64",
  env: [`PATH=${DEFAULT_PATH}`],
  exposedPorts: [],
  labels: {},
  volumes: [],
  diffIds: [],
};

/** The image config a stored sandbox runs with: its image's, or {@link LOCAL_IMAGE_CONFIG} for a local root. */
export function storedImageConfig(
  images: ImageService,
  record: Pick<SandboxRecord, "image" | "imageDigest">,
): ImageConfig {
  if (isLocalImage(record.image)) return LOCAL_IMAGE_CONFIG;
  return images.inspect(record.imageDigest ?? record.image).config;
}
