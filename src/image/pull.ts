/**
 * Pulls an image from its registry (or a Docker Hub mirror): manifest (platform selected from an index), config and
 * layers, each verified against its digest, layers downloaded in parallel into the cache, then recorded in the store.
 * Endpoints are tried in order; a failing mirror falls through to the next one.
 */
import { statSync } from "node:fs";
import { ImageNotFoundError, ImagePullError, type MsbError } from "../errors.js";
import type { ImageRepository, NewImageRecord } from "../store/image-repository.js";
import type { BlobStore } from "./blob-store.js";
import { digestOf, verifyBytes } from "./digest.js";
import { downloadBlob } from "./download.js";
import { isErrno } from "./fs-util.js";
import { MAX_CONFIG_BYTES, parseImageConfig } from "./image-config.js";
import { ShapeError } from "./json-shape.js";
import { parseManifest, type Descriptor, type ImageManifest } from "./manifest.js";
import { CONFIG_TYPES, LAYER_TYPES, MANIFEST_TYPES } from "./media-types.js";
import { formatPlatform, selectPlatform, type Platform } from "./platform.js";
import { forEachLimited } from "./pool.js";
import type { PullProgressListener } from "./progress.js";
import { familiarName, referenceKey, type ImageReference } from "./reference.js";
import type { RegistryAuthenticator } from "./registry/auth.js";
import { RegistryClient, RegistryHttpError, type FetchedManifest } from "./registry/client.js";
import { dockerConfigCredentials, type RegistryCredentials } from "./registry/credentials.js";
import { endpointsFor, type Endpoint } from "./registry/endpoints.js";
import { combineEndpointErrors, toPullError } from "./registry/errors.js";
import { readBody, type HttpClient } from "./registry/http.js";
import type { RegistrySettings } from "./registry/settings.js";
import { withRetry, type RetryPolicy } from "./retry.js";

/** What a pull needs from its {@link ImageService}. */
export interface PullContext {
  readonly http: HttpClient;
  readonly auth: RegistryAuthenticator;
  readonly settings: RegistrySettings;
  readonly images: ImageRepository;
  readonly blobs: BlobStore;
}

/** Per-pull settings. */
export interface RemotePullOptions {
  readonly platform: Platform;
  /** Credentials for the image's registry (else `~/.docker/config.json` is consulted). */
  readonly credentials: RegistryCredentials | undefined;
  readonly retry: RetryPolicy;
  /** Layers downloaded at once. */
  readonly concurrency: number;
  readonly onProgress: PullProgressListener | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Pulls `ref` and records it; returns the image (manifest) digest. */
export async function pullRemote(
  ctx: PullContext,
  ref: ImageReference,
  options: RemotePullOptions,
): Promise<string> {
  const failures: { endpoint: Endpoint; error: MsbError }[] = [];
  for (const endpoint of endpointsFor(ref, ctx.settings)) {
    try {
      return await pullFrom(ctx, ref, endpoint, options);
    } catch (error) {
      const typed = toPullError(error, {
        reference: familiarName(ref),
        registry: ref.registry,
        repository: ref.repository,
        tag: ref.tag,
        endpoint,
      });
      if (!endpoint.mirror || options.signal?.aborted === true)
        throw failures.length === 0
          ? typed
          : combineEndpointErrors(familiarName(ref), [...failures, { endpoint, error: typed }]);
      failures.push({ endpoint, error: typed });
    }
  }
  throw combineEndpointErrors(familiarName(ref), failures);
}

async function pullFrom(
  ctx: PullContext,
  ref: ImageReference,
  endpoint: Endpoint,
  options: RemotePullOptions,
): Promise<string> {
  const credentials = endpoint.mirror
    ? await dockerConfigCredentials(ctx.settings.dockerConfigFile, endpoint.host)
    : (options.credentials ?? (await dockerConfigCredentials(ctx.settings.dockerConfigFile, ref.registry)));
  const client = new RegistryClient({
    http: ctx.http,
    auth: ctx.auth,
    endpoint,
    repository: ref.repository,
    credentials,
    registry: ref.registry,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const retry = <T>(fn: () => Promise<T>): Promise<T> =>
    withRetry(fn, {
      policy: options.retry,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  await retry(() => client.ping());
  const top = await retry(() => client.manifest(ref.digest ?? ref.tag ?? "latest")).catch((error: unknown) =>
    explainMissing(error, client, ref, endpoint),
  );
  const resolvedDigest = verifyTopManifest(top, ref);
  const { manifest, digest, bytes } = await selectManifest(client, ref, top, resolvedDigest, options, retry);
  const configBytes = await retry(() => fetchSmallBlob(client, manifest.config, MAX_CONFIG_BYTES));
  const config = parseImageConfig(configBytes);
  checkImage(ref, manifest, config, options.platform);
  options.onProgress?.({
    type: "resolved",
    reference: referenceKey(ref),
    digest,
    endpoint: endpoint.baseUrl,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })),
  });
  const record: NewImageRecord = {
    digest,
    mediaType: manifest.mediaType,
    manifest: bytes.toString("utf8"),
    configDigest: manifest.config.digest,
    config: configBytes.toString("utf8"),
    os: config.os,
    architecture: config.architecture,
    ...(config.variant === undefined ? {} : { variant: config.variant }),
    ...(config.created === undefined ? {} : { created: config.created }),
    layers: manifest.layers.map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffId: config.diffIds[i] ?? "",
    })),
  };
  await downloadLayers(ctx, client, manifest.layers, options);
  await recordImage(ctx, client, record, { reference: referenceKey(ref), resolvedDigest }, options);
  options.onProgress?.({ type: "done", reference: referenceKey(ref), digest });
  return digest;
}

/** After a 404 on a tag, asks for the tag list to say whether the repository or only the tag is missing. */
async function explainMissing(
  error: unknown,
  client: RegistryClient,
  ref: ImageReference,
  endpoint: Endpoint,
): Promise<never> {
  if (
    !(error instanceof RegistryHttpError) ||
    error.status !== 404 ||
    ref.tag === undefined ||
    ref.digest !== undefined
  )
    throw error;
  const tags = await client.tags().catch(() => null);
  if (tags === null) throw error;
  const where = endpoint.mirror ? `mirror ${endpoint.baseUrl}` : ref.registry;
  if (tags === undefined) {
    throw new ImageNotFoundError(
      referenceKey(ref),
      `${familiarName(ref)}: repository ${ref.repository} not found on ${where}`,
      { cause: error },
    );
  }
  const shown = tags.length === 0 ? "none" : tags.slice(0, 10).join(", ") + (tags.length > 10 ? ", ..." : "");
  throw new ImageNotFoundError(
    referenceKey(ref),
    `${familiarName(ref)}: tag ${JSON.stringify(ref.tag)} not found in ${ref.repository} on ${where} (tags: ${shown})`,
    {
      cause: error,
      hint: "use one of the existing tags",
    },
  );
}

/** Checks the first manifest against the pinned digest, or the registry's `Docker-Content-Digest`. Returns its digest. */
function verifyTopManifest(top: FetchedManifest, ref: ImageReference): string {
  if (ref.digest !== undefined) {
    verifyBytes(top.bytes, ref.digest, `the manifest of ${familiarName(ref)}`);
    return ref.digest;
  }
  const claimed = top.digestHeader;
  if (claimed !== undefined && /^sha(256|512):[0-9a-f]+$/.test(claimed))
    verifyBytes(top.bytes, claimed, `the manifest of ${familiarName(ref)}`);
  return digestOf(top.bytes);
}

async function selectManifest(
  client: RegistryClient,
  ref: ImageReference,
  top: FetchedManifest,
  topDigest: string,
  options: RemotePullOptions,
  retry: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<{ manifest: ImageManifest; digest: string; bytes: Buffer }> {
  const parsed = parseManifest(top.bytes, top.contentType);
  if (parsed.kind === "manifest") return { manifest: parsed, digest: topDigest, bytes: top.bytes };
  const candidates = parsed.manifests.filter((m) => MANIFEST_TYPES.has(m.mediaType));
  const chosen = selectPlatform(candidates, options.platform);
  if (chosen === undefined) {
    const available = candidates
      .flatMap((m) => (m.platform === undefined ? [] : [formatPlatform(m.platform)]))
      .join(", ");
    throw new ImageNotFoundError(
      referenceKey(ref),
      `${familiarName(ref)} has no image for ${formatPlatform(options.platform)} (it has: ${available || "none"})`,
      {
        hint: "pick another platform, or another image",
      },
    );
  }
  const child = await retry(() => client.manifest(chosen.digest));
  if (child.bytes.length !== chosen.size)
    throw new ShapeError(
      `manifest ${chosen.digest} is ${child.bytes.length} bytes, the index says ${chosen.size}`,
    );
  verifyBytes(
    child.bytes,
    chosen.digest,
    `the ${formatPlatform(options.platform)} manifest of ${familiarName(ref)}`,
  );
  const manifest = parseManifest(child.bytes, child.contentType ?? chosen.mediaType);
  if (manifest.kind !== "manifest")
    throw new ShapeError(`index entry ${chosen.digest} is not an image manifest`);
  return { manifest, digest: chosen.digest, bytes: child.bytes };
}

async function fetchSmallBlob(client: RegistryClient, descriptor: Descriptor, max: number): Promise<Buffer> {
  if (descriptor.size > max)
    throw new ShapeError(
      `blob ${descriptor.digest} declares ${descriptor.size} bytes, more than the ${max} allowed`,
    );
  const bytes = await readBody(await client.blob(descriptor.digest), descriptor.size);
  verifyBytes(bytes, descriptor.digest, `blob ${descriptor.digest}`);
  return bytes;
}

function checkImage(
  ref: ImageReference,
  manifest: ImageManifest,
  config: ReturnType<typeof parseImageConfig>,
  platform: Platform,
): void {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new ImagePullError(
      familiarName(ref),
      `it is not a container image (config media type ${manifest.config.mediaType})`,
    );
  }
  const unknown = manifest.layers.find((l) => !LAYER_TYPES.has(l.mediaType));
  if (unknown !== undefined)
    throw new ImagePullError(
      familiarName(ref),
      `layer ${unknown.digest} has the unsupported media type ${unknown.mediaType}`,
    );
  if (config.diffIds.length !== manifest.layers.length) {
    throw new ShapeError(
      `the config lists ${config.diffIds.length} diff_ids for ${manifest.layers.length} layers`,
    );
  }
  if (config.os !== platform.os || config.architecture !== platform.architecture) {
    throw new ImagePullError(
      familiarName(ref),
      `the image is ${config.os}/${config.architecture}, but ${formatPlatform(platform)} is needed`,
      {
        hint: "pull a multi-platform tag, or pass the platform the image was built for",
      },
    );
  }
}

async function downloadLayers(
  ctx: PullContext,
  client: RegistryClient,
  layers: readonly Descriptor[],
  options: RemotePullOptions,
): Promise<void> {
  const unique = [...new Map(layers.map((l) => [l.digest, l])).values()];
  const missing: Descriptor[] = [];
  for (const layer of unique) {
    if (await ctx.blobs.has(layer.digest, layer.size)) {
      options.onProgress?.({
        type: "layer",
        digest: layer.digest,
        done: layer.size,
        total: layer.size,
        cached: true,
      });
    } else {
      options.onProgress?.({
        type: "layer",
        digest: layer.digest,
        done: 0,
        total: layer.size,
        cached: false,
      });
      missing.push(layer);
    }
  }
  await forEachLimited(missing, options.concurrency, (descriptor) =>
    downloadBlob({
      client,
      descriptor,
      store: ctx.blobs,
      retry: options.retry,
      onProgress: (done) =>
        options.onProgress?.({
          type: "layer",
          digest: descriptor.digest,
          done,
          total: descriptor.size,
          cached: false,
        }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  );
}

/**
 * Records the image, inside a transaction that first checks every layer blob is still cached (a concurrent `remove`
 * or `prune` deletes blobs inside its own transaction, so either it sees our references or we see the blob gone, and
 * download it again).
 */
async function recordImage(
  ctx: PullContext,
  client: RegistryClient,
  record: NewImageRecord,
  reference: { reference: string; resolvedDigest: string },
  options: RemotePullOptions,
): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const missing = ctx.images.whileLocked(() => {
      const gone = record.layers.filter((l) => !cachedSync(ctx.blobs.path(l.digest), l.size));
      if (gone.length === 0) ctx.images.save(record, reference);
      return gone;
    });
    if (missing.length === 0) return;
    await downloadLayers(
      ctx,
      client,
      missing.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      options,
    );
  }
  throw new ImagePullError(
    reference.reference,
    "layers kept disappearing from the cache while the image was recorded (a concurrent prune?)",
  );
}

function cachedSync(path: string, size: number): boolean {
  try {
    return statSync(path).size === size;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return false;
    throw error;
  }
}
