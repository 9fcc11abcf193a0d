/** OCI and Docker media types the image client understands. */

/** OCI image index (multi-platform). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Docker manifest list (multi-platform). */
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";

/** The `Accept` header of every manifest request: all four types, or registries answer 404 or down-convert to schema 1. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");

/** Media types of multi-platform manifests. */
export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST]);
/** Media types of single-platform image manifests. */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
/** Media types of image configs. */
export const CONFIG_TYPES: ReadonlySet<string> = new Set([OCI_CONFIG, DOCKER_CONFIG]);

/** Media types of filesystem layers (the compression is confirmed from the bytes when the layer is read). */
export const LAYER_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);
