/**
 * Booting a sandbox, for the first time (`create`) or again from its own disk (`start`). Both end in one
 * {@link launch}: spawn the supervisor, hand it the spec built from the stored config, wait for it to be ready,
 * connect. A failed create removes everything it made (row, directories, lease, processes); a failed start
 * leaves the sandbox `crashed` with the reason, its disk untouched.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SandboxNotFoundError, SandboxStillRunningError } from "../errors.js";
import type { ImageConfig } from "../image/image-config.js";
import { ImageService } from "../image/image-service.js";
import { createLocalRootDisk, isLocalImage, resolveLocalImage } from "../image/rootfs/local-root.js";
import { findImageTools } from "../image/tool.js";
import { readEnv } from "../config/env.js";
import { identityOf } from "../os/process-identity.js";
import type { ProcessIdentity } from "../os/process-identity.js";
import { supervisorOf } from "../store/sandbox-repository.js";
import type { SandboxRecord } from "../store/sandbox-repository.js";
import { isLive } from "../store/sandbox-status.js";
import type { Store } from "../store/store.js";
import type { NewRootDisk, SupervisorSpec } from "../supervisor/spec.js";
import { planMounts } from "../storage/plan-mounts.js";
import { resolveVolumes, volumeMountSpecs } from "./mount-config.js";
import type { RootDiskOptions } from "../vm/microvm.js";
import { STOP_GRACE_MS, validateSandboxConfig } from "./config.js";
import { persistableConfig } from "./config.js";
import type { SandboxConfig } from "./config.js";
import { SupervisorConnection } from "./connection.js";
import { checkHomeFitsSockets, newSandboxId, sandboxPaths, sandboxRunDir } from "./context.js";
import type { SandboxPaths } from "./context.js";
import { execDefaults, mainProcess, stopSignalOf } from "./defaults.js";
import type { ExecDefaults } from "./defaults.js";
import type { PendingSupervisor } from "./launch.js";
import { LOCAL_IMAGE_CONFIG, storedImageConfig } from "./local-image-config.js";
import { replenishSpareSupervisor, spawnSupervisor, takeSpareSupervisor } from "./spare-supervisor.js";
import { resolvePatchSources } from "../storage/patch-validate.js";
import { removeSandbox, SandboxHandle } from "./sandbox-handle.js";
import { relaySandboxWarnings } from "./sandbox-warnings.js";
import { validateSecrets } from "../secrets/config.js";
import type { SecretEntry } from "../secrets/config.js";
import { openSealedSecrets, sealSecrets } from "../secrets/sealed-store.js";
import { buildTlsSpec, resolveTlsPaths } from "./tls-spec.js";
import { warmHintOf } from "../supervisor/warm-hint.js";
import type { WarmHint } from "../supervisor/warm-hint.js";

/** A sandbox that booted and is connected: what a live `Sandbox` is made of. */
export interface BootedSandbox {
  readonly name: string;
  /** The incarnation (row id): a handle acts on this one, never on a sandbox that replaced it. */
  readonly id: string;
  readonly home: string;
  readonly defaults: ExecDefaults;
  /** The supervisor, proven by its start time: the only process a handle ever signals. */
  readonly supervisor: ProcessIdentity;
  readonly connection: SupervisorConnection;
}

/** What {@link launch} boots. */
interface LaunchPlan {
  readonly store: Store;
  readonly home: string;
  readonly record: Pick<SandboxRecord, "name" | "id" | "runDir">;
  readonly config: SandboxConfig;
  readonly imageConfig: ImageConfig;
  readonly rootDisk: RootDiskOptions;
  readonly detached: boolean;
  readonly pending: PendingSupervisor;
  /** A create from an image: the supervisor makes its root disk (and may restore its VM from a template). */
  readonly newRootDisk?: NewRootDisk;
}

/** Creates and boots a new sandbox from a validated `config`. */
export async function createSandbox(
  store: Store,
  home: string,
  requested: SandboxConfig,
  detached: boolean,
): Promise<BootedSandbox> {
  checkHomeFitsSockets(home);
  const volumes = resolveVolumes(requested.volumes, process.cwd()); // bind paths stored absolute
  let config: SandboxConfig = volumes === undefined ? requested : { ...requested, volumes };
  const existing = store.sandboxes.get(config.name);
  if (existing && config.replace === true) await replaceExisting(home, existing);
  // Host paths (a local root, patch sources, bind mounts above) are resolved against the creator's cwd and stored absolute.
  const local = isLocalImage(config.image) ? resolveLocalImage(config.image, process.cwd()) : undefined;
  config = {
    ...config,
    ...(local ? { image: local.path } : {}),
    ...(config.patches ? { patches: resolvePatchSources(config.patches, process.cwd()) } : {}),
    ...(config.network ? { network: resolveTlsPaths(config.network, process.cwd()) } : {}),
  };
  await using images = await ImageService.open({ store });
  const image = local
    ? undefined
    : await images.pull(config.image, {
        policy: config.pullPolicy ?? "if-missing",
        ...(config.registryAuth ? { auth: config.registryAuth } : {}),
      });
  const id = newSandboxId();
  const paths = sandboxPaths(home, config.name);
  const runDir = sandboxRunDir(home, id);
  store.sandboxes.insert({
    name: config.name,
    id,
    configJson: persistableConfig(config),
    image: config.image,
    imageDigest: image?.digest,
    labels: config.labels ?? {},
    runDir,
    ownerPid: process.pid,
    detached,
  });
  const holder = `sandbox:${config.name}`;
  let pending: PendingSupervisor | undefined;
  try {
    makeDirs(paths, runDir);
    pending =
      (await takeSpareSupervisor(home, paths.supervisorStderr)) ??
      (await spawnSupervisor({ logFile: paths.supervisorStderr, detached }));
    rmSync(paths.patchMarker, { force: true }); // a new disk has none of its patches yet
    sealValues(home, paths.sealedSecrets, id, config.secrets);
    if (image) images.lease(image.digest, holder);
    // From an image, the supervisor makes the root disk: a copy of the template's when it restores one (no
    // overlay made first only to be replaced), else an overlay.
    const newRootDisk: NewRootDisk | undefined = image && {
      imageDigest: image.digest,
      baseDisk: (await images.baseDisk(image.digest)).path,
      template: readEnv().templates,
    };
    const rootDisk: RootDiskOptions = newRootDisk
      ? { path: paths.rootDisk, format: "qcow2" }
      : await makeRootDisk(images, config, undefined, paths.rootDisk);
    const record = { name: config.name, id, runDir };
    const { booted, hint } = await launch({
      store,
      home,
      record,
      config,
      imageConfig: image ? image.config : LOCAL_IMAGE_CONFIG,
      rootDisk,
      detached,
      pending,
      ...(newRootDisk ? { newRootDisk } : {}),
    });
    replenishSpareSupervisor(home, hint);
    return booted;
  } catch (err) {
    await abandon(pending);
    store.sandboxes.deleteById(id);
    if (image) store.images.removeLease(image.digest, holder);
    removeAllBut(paths.dir, paths.logDir); // the error's hint names the logs: they stay
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Boots a stopped or crashed sandbox again from its stored config and its own disk. Throws
 * {@link SandboxStillRunningError} when it runs (or another process is starting it).
 */
export async function startSandbox(
  store: Store,
  home: string,
  name: string,
  detached: boolean,
): Promise<BootedSandbox> {
  const record = store.sandboxes.get(name);
  if (record === undefined) throw new SandboxNotFoundError(name);
  checkHomeFitsSockets(home);
  if (isLive(record.status)) throw new SandboxStillRunningError(name, record.status);
  if (!store.sandboxes.claimStart(name, { ownerPid: process.pid, detached })) {
    throw new SandboxStillRunningError(name, store.sandboxes.get(name)?.status ?? "starting");
  }
  let pending: PendingSupervisor | undefined;
  try {
    const paths = sandboxPaths(home, name);
    const stored = JSON.parse(record.configJson) as SandboxConfig;
    const config = validateSandboxConfig(withSealedValues(home, paths.sealedSecrets, record.id, stored));
    await using images = await ImageService.open({ store });
    const imageConfig = storedImageConfig(images, record);
    pending = await spawnSandboxSupervisor(paths, record.runDir, detached);
    const rootDisk = await rootDiskToStart(images, config, record, paths);
    const { booted } = await launch({
      store,
      home,
      record,
      config,
      imageConfig,
      rootDisk,
      detached,
      pending,
    });
    return booted;
  } catch (err) {
    await abandon(pending);
    const exitReason = `start failed: ${(err as Error).message}`;
    store.sandboxes.setStatus(record.id, "crashed", { exitReason }, ["starting"]);
    throw err;
  }
}

/** Makes a fresh root disk at `path`: a copy-on-write disk over the image's base, or over the local root. */
async function makeRootDisk(
  images: ImageService,
  config: SandboxConfig,
  imageDigest: string | undefined,
  path: string,
): Promise<RootDiskOptions> {
  if (isLocalImage(config.image)) {
    const local = resolveLocalImage(config.image, process.cwd());
    return createLocalRootDisk(local, path, await findImageTools(readEnv().searchPath));
  }
  if (imageDigest === undefined) throw new Error(`unreachable: sandbox image ${config.image} has no digest`);
  return images.createRootDisk({ image: imageDigest, path });
}

/**
 * The root disk a start boots: the sandbox's own, or a fresh one when its create never finished preparing it
 * (the creator died before the disk was made, or while patches were being applied, which must apply once). Such
 * a disk holds nothing of the user's: the main process and every exec come after the patches' marker.
 */
async function rootDiskToStart(
  images: ImageService,
  config: SandboxConfig,
  record: SandboxRecord,
  paths: SandboxPaths,
): Promise<RootDiskOptions> {
  const unpatched = (config.patches?.length ?? 0) > 0 && !existsSync(paths.patchMarker);
  if (existsSync(paths.rootDisk) && !unpatched) return { path: paths.rootDisk, format: "qcow2" };
  rmSync(paths.patchMarker, { force: true }); // a new disk has none of its patches yet
  return makeRootDisk(images, config, record.imageDigest, paths.rootDisk);
}

/** Seals the secret values of sandbox incarnation `id` for its restarts (nothing when it has none). */
function sealValues(
  home: string,
  path: string,
  id: string,
  secrets: readonly SecretEntry[] | undefined,
): void {
  rmSync(path, { force: true });
  if (secrets === undefined || secrets.length === 0) return;
  sealSecrets(home, path, `sandbox:${id}`, Object.fromEntries(secrets.map((s) => [s.envVar, s.value])));
}

/** The stored (redacted) config with its secrets' values back from the sealed file. */
function withSealedValues(home: string, path: string, id: string, config: SandboxConfig): SandboxConfig {
  if (config.secrets === undefined || config.secrets.length === 0) return config;
  const values = openSealedSecrets(home, path, `sandbox:${id}`);
  return {
    ...config,
    secrets: config.secrets.map((secret) => ({ ...secret, value: values[secret.envVar] ?? "" })),
  };
}

/** Makes the sandbox's log and run directories. */
function makeDirs(paths: SandboxPaths, runDir: string): void {
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
}

/** Makes the sandbox's directories and spawns its supervisor (which waits for its spec). */
async function spawnSandboxSupervisor(
  paths: SandboxPaths,
  runDir: string,
  detached: boolean,
): Promise<PendingSupervisor> {
  makeDirs(paths, runDir);
  return await spawnSupervisor({ logFile: paths.supervisorStderr, detached });
}

/** Kills a supervisor whose boot failed (by its identity, when the launcher spawned it) and waits for its end. */
async function abandon(pending: PendingSupervisor | undefined): Promise<void> {
  if (pending === undefined) return;
  pending.kill();
  await pending.exited;
}

/**
 * Removes everything in `dir` except `keep` (a failed create keeps its logs, which its error names; they go with
 * the next `remove()` of that name, or are appended to by the next create).
 */
function removeAllBut(dir: string, keep: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (path !== keep) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Hands the supervisor its spec, waits for it to be ready, and connects. `hint` is the VM a spare would warm for
 * the next create like this one.
 */
async function launch(plan: LaunchPlan): Promise<{ booted: BootedSandbox; hint: WarmHint | undefined }> {
  const { config, imageConfig, record, home } = plan;
  const main = mainProcess(config, imageConfig);
  const defaults = execDefaults(config, imageConfig);
  const mounts = await planMounts(
    { store: plan.store, home, searchPath: readEnv().searchPath },
    volumeMountSpecs(config.volumes),
    record.id,
  );
  const tls = await buildTlsSpec(config, home);
  const spec: SupervisorSpec = {
    name: record.name,
    id: record.id,
    home,
    runDir: record.runDir,
    logDir: sandboxPaths(home, record.name).logDir,
    ...(config.logLevel ? { logLevel: config.logLevel } : {}),
    rootDisk: plan.rootDisk,
    cpus: config.cpus ?? 1,
    memoryMib: config.memoryMib ?? 512,
    hostname: config.hostname ?? record.name.replace(/[^A-Za-z0-9-]/g, "-").slice(0, 63),
    detached: plan.detached,
    stop: { signal: stopSignalOf(config, imageConfig), graceMs: STOP_GRACE_MS },
    ...(config.maxDurationSecs === undefined ? {} : { maxDurationMs: config.maxDurationSecs * 1000 }),
    ...(config.network ? { network: config.network } : {}),
    ...(config.ports ? { ports: config.ports } : {}),
    ...(tls ? { tls } : {}),
    ...(mounts.mounts.length > 0 ? { mounts } : {}),
    // Volumes are wired at boot: the supervisor boots a VM with any cold.
    ...(plan.newRootDisk ? { newRootDisk: plan.newRootDisk } : {}),
    ...(config.patches
      ? { patches: config.patches, patchMarker: sandboxPaths(home, record.name).patchMarker }
      : {}),
    ...(config.scripts ? { scripts: config.scripts } : {}),
    ...(config.secrets && config.secrets.length > 0
      ? { secrets: validateSecrets(config.secrets, config.env) }
      : {}),
    ...(main ? { main: { argv: main, env: defaults.env, cwd: defaults.cwd, user: defaults.user } } : {}),
  };
  const launched = await plan.pending.start(spec);
  if (config.quietLogs !== true) relaySandboxWarnings(record.name, launched.warnings);
  const row = plan.store.sandboxes.getById(record.id);
  const supervisor = (row && supervisorOf(row)) ?? identityOf(launched.pid);
  const connection = await SupervisorConnection.open(record.runDir);
  const booted = { name: record.name, id: record.id, home, defaults, supervisor, connection };
  return { booted, hint: warmHintOf(spec) };
}

async function replaceExisting(home: string, record: SandboxRecord): Promise<void> {
  const handle = SandboxHandle.load(home, record.name);
  if (isLive(record.status)) await handle.kill();
  await removeSandbox(home, record.name);
}
