/** OCI images: references, pulling, the local cache and root disks. */
export {
  ImageService,
  type ImageServiceOptions,
  type PullOptions,
  type PullPolicy,
  type RemoveResult,
} from "./image-service.js";
export type { ImageInfo } from "./image-info.js";
export type { ImageConfig } from "./image-config.js";
export type {
  PullDoneEvent,
  PullEvent,
  PullLayerEvent,
  PullProgressListener,
  PullResolvedEvent,
} from "./progress.js";
export type { PruneOptions, PruneResult } from "./prune.js";
export { familiarName, formatReference, parseReference, type ImageReference } from "./reference.js";
export { formatPlatform, hostPlatform, parsePlatform, type Platform } from "./platform.js";
export type { RegistryCredentials } from "./registry/credentials.js";
export type { RegistrySettings } from "./registry/settings.js";
export type { RetryPolicy } from "./retry.js";
export type { BaseDisk } from "./rootfs/build.js";
export type { RootDisk } from "./rootfs/overlay.js";
