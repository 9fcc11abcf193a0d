/** The image configuration blob: what a sandbox inherits (Env, Entrypoint, Cmd, WorkingDir, User, ports, labels). */
import { parseDigest } from "./digest.js";
import {
  ShapeError,
  arrayOf,
  asObject,
  asString,
  optionalObject,
  optionalString,
  optionalStrings,
  parseJson,
  stringMap,
} from "./json-shape.js";

/** Largest config blob we accept. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** The parts of an image config microsandbox uses. Absent fields stay undefined (Docker's "not set"). */
export interface ImageConfig {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  /** Creation time as written in the image (RFC 3339), if any. */
  readonly created?: string;
  /** `KEY=value` pairs. */
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  /** `80/tcp`, `53/udp`, ... */
  readonly exposedPorts: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
  readonly volumes: readonly string[];
  /** Digests of the uncompressed layers, in order. */
  readonly diffIds: readonly string[];
}

/** Parses a config blob; throws {@link ShapeError} on malformed JSON or fields of the wrong type. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  const doc = asObject(parseJson(bytes, "the image config"), "the image config");
  const config = optionalObject(doc["config"], "config.config") ?? {};
  const rootfs = asObject(doc["rootfs"], "config.rootfs");
  if (rootfs["type"] !== "layers")
    throw new ShapeError(`config.rootfs.type ${JSON.stringify(rootfs["type"])} is not "layers"`);
  const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    (value === undefined || value === "" ? {} : { [key]: value }) as { [P in K]?: V };
  return {
    os: asString(doc["os"], "config.os"),
    architecture: asString(doc["architecture"], "config.architecture"),
    ...optional("variant", optionalString(doc["variant"], "config.variant")),
    ...optional("created", optionalString(doc["created"], "config.created")),
    env: optionalStrings(config["Env"], "config.config.Env") ?? [],
    ...optional("entrypoint", optionalStrings(config["Entrypoint"], "config.config.Entrypoint")),
    ...optional("cmd", optionalStrings(config["Cmd"], "config.config.Cmd")),
    ...optional("workingDir", optionalString(config["WorkingDir"], "config.config.WorkingDir")),
    ...optional("user", optionalString(config["User"], "config.config.User")),
    exposedPorts: Object.keys(optionalObject(config["ExposedPorts"], "config.config.ExposedPorts") ?? {}),
    labels: stringMap(config["Labels"], "config.config.Labels"),
    ...optional("stopSignal", optionalString(config["StopSignal"], "config.config.StopSignal")),
    volumes: Object.keys(optionalObject(config["Volumes"], "config.config.Volumes") ?? {}),
    diffIds: arrayOf(rootfs["diff_ids"], "config.rootfs.diff_ids", (v, what) => {
      try {
        return parseDigest(v, what);
      } catch (error) {
        throw new ShapeError((error as Error).message);
      }
    }),
  };
}
