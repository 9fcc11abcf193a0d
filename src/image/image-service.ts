/**
 * The image API: pull (with a policy), list, inspect, remove, prune, and root disks (a read-only ext4 base per
 * image, a qcow2 overlay per sandbox). One instance owns an HTTP client, the auth token cache and (unless given one)
 * the store; close it when done.
 */
import { join } from "node:path";
import { readEnv, type MsbEnv } from "../config/env.js";
import { msbPaths, type MsbPaths } from "../config/paths.js";
import { ImageInUseError, ImageNotFoundError, ImagePullError, InvalidConfigError } from "../errors.js";
import type { ImageRecord } from "../store/image-repository.js";
import { Store } from "../store/store.js";
import { BlobStore } from "./blob-store.js";
import { digestHex, isDigest } from "./digest.js";
import { removeTree } from "./fs-util.js";
import { toImageInfo, type ImageInfo } from "./image-info.js";
import { hostPlatform, parsePlatform, type Platform } from "./platform.js";
import type { PullProgressListener } from "./progress.js";
import { TemplateStore } from "../templates/template-store.js";
import { pruneImages, type PruneOptions, type PruneResult } from "./prune.js";
import { pullRemote } from "./pull.js";
import { cleanAbandonedScratch } from "./scratch.js";
import { familiarName, parseReference, referenceKey, type ImageReference } from "./reference.js";
import { RegistryAuthenticator } from "./registry/auth.js";
import type { RegistryCredentials } from "./registry/credentials.js";
import { HttpClient } from "./registry/http.js";
import { loadRegistrySettings, validateSettings, type RegistrySettings } from "./registry/settings.js";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { ensureBaseDisk, type BaseDisk } from "./rootfs/build.js";
import { createOverlay, type RootDisk } from "./rootfs/overlay.js";
import { findImageTools, type ImageTools } from "./tool.js";

/** When to contact the registry: `always`; `if-missing` (only when not cached); `never` (cache only). */
export type PullPolicy = "always" | "if-missing" | "never";

const POLICIES: readonly PullPolicy[] = ["always", "if-missing", "never"];

/** Options of {@link ImageService.open}. */
export interface ImageServiceOptions {
  /** Environment settings (default `readEnv()`): state directory, mirrors, docker config, PATH. */
  readonly env?: MsbEnv;
  /** An open store to use (not closed by the service). Default: the one under `env.home`, owned by the service. */
  readonly store?: Store;
  /** Overrides of the registry settings read from the environment and `<home>/config.json`. */
  readonly registry?: Partial<RegistrySettings>;
  /** Retry policy of network operations. */
  readonly retry?: Partial<RetryPolicy>;
  /** Layers downloaded in parallel (default 3). */
  readonly concurrency?: number;
  /** Abort a request when its connection is silent this long (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** Platform to pull (default: the host's). */
  readonly platform?: Platform | string;
  /** Check every new base disk with `e2fsck -fn` (default false). */
  readonly verifyRootDisks?: boolean;
  /** Unpack layers in /dev/shm when the image fits comfortably in RAM (default true: far faster on slow disks). */
  readonly ramStaging?: boolean;
}

/** Options of {@link ImageService.pull}. */
export interface PullOptions {
  /** Default `always` (like `docker pull`); sandboxes pass their `pullPolicy` (default `if-missing`). */
  readonly policy?: PullPolicy;
  /** Override the platform (`linux/arm64`). */
  readonly platform?: Platform | string;
  /** Credentials for the image's registry (a sandbox's `registryAuth`); else `~/.docker/config.json`. */
  readonly auth?: RegistryCredentials;
  readonly onProgress?: PullProgressListener;
  readonly signal?: AbortSignal;
}

/** What {@link ImageService.remove} did. */
export interface RemoveResult {
  /** References removed. */
  readonly untagged: readonly string[];
  /** Images deleted (when their last reference went). */
  readonly deleted: readonly string[];
}

/** Pulls, caches and prepares images. */
export class ImageService implements AsyncDisposable {
  readonly #paths: MsbPaths;
  readonly #store: Store;
  readonly #ownsStore: boolean;
  readonly #settings: RegistrySettings;
  readonly #http: HttpClient;
  readonly #auth: RegistryAuthenticator;
  readonly #blobs: BlobStore;
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #platform: Platform;
  readonly #verify: boolean;
  readonly #ramStaging: boolean;
  readonly #searchPath: readonly string[];
  /** Looked up when a base disk is first built, not at every open: a create of a cached image needs none. */
  #tools: Promise<ImageTools> | undefined;

  private constructor(init: {
    env: MsbEnv;
    store: Store | undefined;
    settings: RegistrySettings;
    options: ImageServiceOptions;
  }) {
    const { env, options } = init;
    this.#paths = msbPaths(env.home);
    this.#ownsStore = init.store === undefined;
    this.#store = init.store ?? Store.open({ path: this.#paths.database });
    this.#settings = init.settings;
    this.#http = new HttpClient(
      options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs },
    );
    this.#auth = new RegistryAuthenticator({ http: this.#http });
    this.#blobs = new BlobStore({ layersDir: this.#paths.layersDir, tmpDir: this.#paths.tmpDir });
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#concurrency = options.concurrency ?? 3;
    this.#platform = toPlatform(options.platform) ?? hostPlatform();
    this.#verify = options.verifyRootDisks ?? false;
    this.#ramStaging = options.ramStaging ?? true;
    this.#searchPath = env.searchPath;
  }

  /**
   * Opens the service: reads the registry settings, opens the store, and removes the scratch files of pulls and
   * builds whose process died (never those of a live process).
   */
  static async open(options: ImageServiceOptions = {}): Promise<ImageService> {
    const env = options.env ?? readEnv();
    await cleanAbandonedScratch(msbPaths(env.home));
    const loaded = await loadRegistrySettings(env);
    const settings = validateSettings({ ...loaded, ...options.registry });
    return new ImageService({ env, store: options.store, settings, options });
  }

  /** The registry settings in effect (mirrors, insecure registries, CAs). */
  get registrySettings(): RegistrySettings {
    return this.#settings;
  }

  /**
   * Makes the image available locally according to the policy and returns it. Throws {@link ImageReferenceError},
   * {@link ImageNotFoundError}, {@link RegistryAuthError}, {@link ImageDigestError} or {@link ImagePullError}; a
   * failed pull records nothing (verified layer blobs may stay in the cache for the next attempt; `prune` drops them).
   */
  async pull(reference: string, options: PullOptions = {}): Promise<ImageInfo> {
    const ref = parseReference(reference);
    const policy = options.policy ?? "always";
    if (!POLICIES.includes(policy))
      throw new InvalidConfigError(
        "pullPolicy",
        `${JSON.stringify(policy)} is not one of ${POLICIES.join(", ")}`,
      );
    if (policy !== "always") {
      const local = this.#local(ref);
      if (local !== undefined && (await this.#layersCached(local))) return toImageInfo(local);
      if (policy === "never") {
        throw new ImageNotFoundError(
          referenceKey(ref),
          `${familiarName(ref)} is not in the local image cache and the pull policy is "never"`,
          {
            hint: `pull it first (msb pull ${familiarName(ref)}), or use pullPolicy "if-missing"`,
          },
        );
      }
    }
    const digest = await pullRemote(
      {
        http: this.#http,
        auth: this.#auth,
        settings: this.#settings,
        images: this.#store.images,
        blobs: this.#blobs,
      },
      ref,
      {
        platform: toPlatform(options.platform) ?? this.#platform,
        credentials: options.auth,
        retry: this.#retry,
        concurrency: this.#concurrency,
        onProgress: options.onProgress,
        signal: options.signal,
      },
    );
    return toImageInfo(this.#mustGet(digest, familiarName(ref)));
  }

  /** Every local image, newest pull first. */
  list(): ImageInfo[] {
    return this.#store.images.list().map(toImageInfo);
  }

  /** A local image by reference (`python:3.12`) or digest (`sha256:...`). Throws {@link ImageNotFoundError}. */
  inspect(image: string): ImageInfo {
    return toImageInfo(this.#find(image));
  }

  /**
   * Removes a reference; when it was the image's last one, deletes the image, its base disk and the layers no other
   * image uses. A digest deletes the image with all its references. Throws {@link ImageInUseError} when a sandbox
   * holds the image.
   */
  async remove(image: string): Promise<RemoveResult> {
    const record = this.#find(image);
    const key = isDigest(image) ? undefined : referenceKey(parseReference(image));
    const images = this.#store.images;
    const outcome = images.whileLocked(() => {
      const references = images.get(record.digest)?.references ?? [];
      if (key !== undefined && references.includes(key) && references.some((r) => r !== key)) {
        images.removeReference(key);
        return { untagged: [key], deleted: [] as string[], holders: [] as string[] };
      }
      const result = images.delete(record.digest, (orphans) => {
        for (const layer of orphans) this.#blobs.removeSync(layer);
      });
      return {
        untagged: result.deleted ? references : [],
        deleted: result.deleted ? [record.digest] : [],
        holders: [...result.holders],
      };
    });
    if (outcome.holders.length > 0) throw new ImageInUseError(image, outcome.holders);
    for (const digest of outcome.deleted) await this.#removeImageFiles(digest);
    return { untagged: outcome.untagged, deleted: outcome.deleted };
  }

  /** An image's base disk and the VM templates made from it (sandboxes keep links to what they use). */
  async #removeImageFiles(digest: string): Promise<void> {
    await removeTree(join(this.#paths.imagesDir, digestHex(digest)));
    new TemplateStore(this.#paths.home).removeForImage(digest);
  }

  /** Deletes dangling (or, with `all`, every unused) image and whatever only they used. */
  async prune(options: PruneOptions = {}): Promise<PruneResult> {
    const result = await pruneImages(
      {
        images: this.#store.images,
        blobs: this.#blobs,
        imagesDir: this.#paths.imagesDir,
        tmpDir: this.#paths.tmpDir,
        runRoot: this.#paths.runRoot,
      },
      options,
    );
    const templates = new TemplateStore(this.#paths.home);
    for (const digest of result.images) templates.removeForImage(digest);
    return result;
  }

  /** The read-only ext4 base disk of a local image, built on first use (once per digest, atomically). */
  async baseDisk(image: string): Promise<BaseDisk> {
    const record = this.#find(image);
    if (!(await this.#layersCached(record))) {
      throw new ImagePullError(image, "some of its layers are missing from the cache", {
        hint: "pull the image again",
      });
    }
    this.#store.images.touch(record.digest);
    return ensureBaseDisk({
      imageDigest: record.digest,
      layers: record.layers.map((l) => ({
        path: this.#blobs.path(l.digest),
        digest: l.digest,
        diffId: l.diffId,
        size: l.size,
      })),
      imagesDir: this.#paths.imagesDir,
      tmpDir: this.#paths.tmpDir,
      tools: await (this.#tools ??= findImageTools(this.#searchPath)),
      verify: this.#verify,
      ramStaging: this.#ramStaging,
    });
  }

  /** A sandbox's root disk: a qcow2 overlay at `path` on the image's base disk (built first if needed). */
  async createRootDisk(options: {
    image: string;
    path: string;
    virtualSizeBytes?: number;
  }): Promise<RootDisk> {
    const base = await this.baseDisk(options.image);
    return createOverlay({
      base: base.path,
      path: options.path,
      ...(options.virtualSizeBytes === undefined ? {} : { virtualSizeBytes: options.virtualSizeBytes }),
    });
  }

  /** Marks the image as used by `holder` (e.g. `sandbox:web`): it cannot be removed until released. */
  lease(image: string, holder: string): void {
    this.#store.images.addLease(this.#find(image).digest, holder);
  }

  /** Releases a lease taken with {@link ImageService.lease}. */
  release(image: string, holder: string): void {
    this.#store.images.removeLease(this.#find(image).digest, holder);
  }

  /** Closes connections (and the store, if the service opened it). */
  close(): void {
    this.#http.close();
    if (this.#ownsStore) this.#store.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #local(ref: ImageReference): ImageRecord | undefined {
    const pinned = this.#store.images.reference(referenceKey(ref));
    if (pinned !== undefined) return this.#store.images.get(pinned.imageDigest);
    return ref.digest === undefined ? undefined : this.#store.images.get(ref.digest);
  }

  #find(image: string): ImageRecord {
    const record = isDigest(image) ? this.#store.images.get(image) : this.#local(parseReference(image));
    if (record === undefined)
      throw new ImageNotFoundError(image, `image ${image} is not in the local image cache`, {
        hint: "pull it first",
      });
    return record;
  }

  #mustGet(digest: string, name: string): ImageRecord {
    const record = this.#store.images.get(digest);
    if (record === undefined)
      throw new ImagePullError(
        name,
        `image ${digest} was pulled but is not recorded (removed concurrently?)`,
      );
    return record;
  }

  async #layersCached(record: ImageRecord): Promise<boolean> {
    for (const layer of record.layers) if (!(await this.#blobs.has(layer.digest, layer.size))) return false;
    return true;
  }
}

function toPlatform(value: Platform | string | undefined): Platform | undefined {
  return typeof value === "string" ? parsePlatform(value) : value;
}
