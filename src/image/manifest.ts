/** Image manifests and indexes (OCI and Docker schema 2): parsing untrusted JSON into checked types. */
import { parseDigest } from "./digest.js";
import { INDEX_TYPES, MANIFEST_TYPES } from "./media-types.js";
import {
  ShapeError,
  arrayOf,
  asObject,
  asSize,
  asString,
  optionalObject,
  optionalString,
  parseJson,
  stringMap,
  type JsonObject,
} from "./json-shape.js";
import type { Platform } from "./platform.js";

/** Largest manifest or index we accept (the OCI distribution spec suggests 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A content descriptor: what a manifest says about a blob or a child manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A multi-platform index (OCI index or Docker manifest list). */
export interface ImageIndex {
  readonly kind: "index";
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

/** A single-platform image manifest. */
export interface ImageManifest {
  readonly kind: "manifest";
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/**
 * Parses manifest bytes. The media type comes from the document's `mediaType`, else from the response's
 * `Content-Type`, else from its shape. Throws {@link ShapeError} for anything that is not a schema-2 manifest or index.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
): ImageIndex | ImageManifest {
  const doc = asObject(parseJson(bytes, "the manifest"), "the manifest");
  if (doc["schemaVersion"] !== 2) {
    throw new ShapeError(
      `manifest schemaVersion ${JSON.stringify(doc["schemaVersion"])} is not supported (only 2)`,
    );
  }
  const declared = optionalString(doc["mediaType"], "manifest.mediaType");
  const header = contentType?.split(";")[0]?.trim();
  const mediaType =
    declared ??
    (header !== undefined && header !== "application/json" ? header : undefined) ??
    shapeType(doc);
  if (INDEX_TYPES.has(mediaType)) {
    return {
      kind: "index",
      mediaType,
      manifests: arrayOf(doc["manifests"], "manifest.manifests", descriptor),
    };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    return {
      kind: "manifest",
      mediaType,
      config: descriptor(doc["config"], "manifest.config"),
      layers: arrayOf(doc["layers"], "manifest.layers", descriptor),
    };
  }
  throw new ShapeError(`manifest media type ${JSON.stringify(mediaType)} is not an image manifest or index`);
}

function shapeType(doc: JsonObject): string {
  if (Array.isArray(doc["manifests"])) return "application/vnd.oci.image.index.v1+json";
  if (doc["config"] !== undefined && Array.isArray(doc["layers"]))
    return "application/vnd.oci.image.manifest.v1+json";
  throw new ShapeError("the manifest has no media type and is neither an index nor an image manifest");
}

function descriptor(value: unknown, what: string): Descriptor {
  const object = asObject(value, what);
  const platform = optionalObject(object["platform"], `${what}.platform`);
  const annotations = optionalObject(object["annotations"], `${what}.annotations`);
  return {
    mediaType: asString(object["mediaType"], `${what}.mediaType`),
    digest: digestField(object["digest"], `${what}.digest`),
    size: asSize(object["size"], `${what}.size`),
    ...(platform === undefined ? {} : { platform: platformField(platform, `${what}.platform`) }),
    ...(annotations === undefined ? {} : { annotations: stringMap(annotations, `${what}.annotations`) }),
  };
}

function platformField(object: JsonObject, what: string): Platform {
  const variant = optionalString(object["variant"], `${what}.variant`);
  return {
    os: asString(object["os"], `${what}.os`),
    architecture: asString(object["architecture"], `${what}.architecture`),
    ...(variant === undefined || variant === "" ? {} : { variant }),
  };
}

function digestField(value: unknown, what: string): string {
  try {
    return parseDigest(value, what);
  } catch (error) {
    throw new ShapeError((error as Error).message);
  }
}
