/** The image config of a local root (a host directory or disk): none comes with it, so sane defaults. */
import type { ImageConfig } from "../image/image-config.js";
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
