/** The public description of a locally stored image. */
import { StoreError } from "../errors.js";
import type { ImageLayerRecord, ImageRecord } from "../store/image-repository.js";
import { parseImageConfig, type ImageConfig } from "./image-config.js";
import { ShapeError } from "./json-shape.js";
import type { Platform } from "./platform.js";

/** A pulled image: what `list()` and `inspect()` return. */
export interface ImageInfo {
  /** Manifest digest of the platform image (what sandboxes pin). */
  readonly digest: string;
  /** Canonical references that name it (`docker.io/library/python:3.12`, ...). Empty for a dangling image. */
  readonly references: readonly string[];
  readonly mediaType: string;
  /** Digest of the config blob (Docker's "image ID"). */
  readonly configDigest: string;
  readonly platform: Platform;
  /** Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts, labels... */
  readonly config: ImageConfig;
  readonly layers: readonly ImageLayerRecord[];
  /** Compressed size of the layers in bytes. */
  readonly size: number;
  /** Creation time written in the image, if any. */
  readonly created?: string;
  readonly pulledAt: Date;
  readonly lastUsedAt?: Date;
}

/** Builds an {@link ImageInfo} from a store record. */
export function toImageInfo(record: ImageRecord): ImageInfo {
  let config: ImageConfig;
  try {
    config = parseImageConfig(Buffer.from(record.config));
  } catch (error) {
    if (error instanceof ShapeError)
      throw new StoreError(`the stored config of ${record.digest} is unreadable: ${error.message}`, {
        cause: error,
      });
    throw error;
  }
  return {
    digest: record.digest,
    references: record.references,
    mediaType: record.mediaType,
    configDigest: record.configDigest,
    platform: {
      os: record.os,
      architecture: record.architecture,
      ...(record.variant === undefined ? {} : { variant: record.variant }),
    },
    config,
    layers: record.layers,
    size: record.size,
    ...(record.created === undefined ? {} : { created: record.created }),
    pulledAt: record.pulledAt,
    ...(record.lastUsedAt === undefined ? {} : { lastUsedAt: record.lastUsedAt }),
  };
}
