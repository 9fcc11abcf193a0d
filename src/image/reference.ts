/**
 * Image references parsed the way Docker parses them (distribution/reference): `alpine` is
 * `docker.io/library/alpine:latest`, a first component with a `.` or `:` or equal to `localhost` is a registry host.
 */
import { ImageReferenceError } from "../errors.js";
import { isDigest } from "./digest.js";

/** Docker Hub's canonical registry name. */
export const DOCKER_HUB = "docker.io";

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host with optional port: `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path in that registry: `library/alpine`, `org/app`. */
  readonly repository: string;
  /** Tag; `latest` when neither a tag nor a digest was given; undefined for a digest-only reference. */
  readonly tag: string | undefined;
  /** `sha256:...` when the reference pins a digest. The digest wins over the tag when both are given. */
  readonly digest: string | undefined;
}

const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PORT = /^[0-9]+$/;

/** Parses `input` into a normalized {@link ImageReference}, or throws {@link ImageReferenceError} naming it. */
export function parseReference(input: string): ImageReference {
  const fail = (reason: string): never => {
    throw new ImageReferenceError(input, reason);
  };
  if (input === "") fail("it is empty");
  if (input !== input.trim()) fail("it has leading or trailing spaces");

  const at = input.indexOf("@");
  const digest = at === -1 ? undefined : input.slice(at + 1);
  if (digest !== undefined && !isDigest(digest)) fail(`"${digest}" is not a valid sha256/sha512 digest`);
  const nameAndTag = at === -1 ? input : input.slice(0, at);

  const lastSlash = nameAndTag.lastIndexOf("/");
  const tagColon = nameAndTag.indexOf(":", lastSlash + 1);
  const name = tagColon === -1 ? nameAndTag : nameAndTag.slice(0, tagColon);
  const explicitTag = tagColon === -1 ? undefined : nameAndTag.slice(tagColon + 1);
  if (explicitTag !== undefined && !TAG.test(explicitTag)) fail(`"${explicitTag}" is not a valid tag`);
  if (name.length > MAX_NAME_LENGTH) fail(`the name is longer than ${MAX_NAME_LENGTH} characters`);

  const { registry, repository } = splitRegistry(name, fail);
  const tag = explicitTag ?? (digest === undefined ? "latest" : undefined);
  return Object.freeze({ registry, repository, tag, digest });
}

function splitRegistry(
  name: string,
  fail: (reason: string) => never,
): { registry: string; repository: string } {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasHost =
    slash !== -1 &&
    (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase());
  let registry = hasHost ? first : DOCKER_HUB;
  let repository = hasHost ? name.slice(slash + 1) : name;
  if (hasHost) checkHost(registry, fail);
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DOCKER_HUB;
  if (repository === "") fail("the repository name is empty");
  for (const component of repository.split("/")) {
    if (component !== component.toLowerCase()) fail("repository names must be lowercase");
    if (!PATH_COMPONENT.test(component)) fail(`"${component}" is not a valid repository path component`);
  }
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository };
}

function checkHost(host: string, fail: (reason: string) => never): void {
  const ipv6 = /^\[([0-9a-fA-F:.]+)\](?::([0-9]+))?$/.exec(host);
  if (ipv6 !== null) return;
  const colon = host.lastIndexOf(":");
  const hostname = colon === -1 ? host : host.slice(0, colon);
  const port = colon === -1 ? undefined : host.slice(colon + 1);
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) fail(`"${host}" has an invalid port`);
  if (hostname.split(".").some((part) => !DOMAIN_COMPONENT.test(part)))
    fail(`"${host}" is not a valid registry host`);
}

/** The canonical form: `docker.io/library/alpine:latest`, `localhost:5000/app@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  const tag = ref.tag === undefined ? "" : `:${ref.tag}`;
  const digest = ref.digest === undefined ? "" : `@${ref.digest}`;
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}

/** The short form Docker prints: `alpine:latest`, `org/app:1`, `localhost:5000/app:1`. */
export function familiarName(ref: ImageReference): string {
  const full = formatReference(ref);
  if (ref.registry !== DOCKER_HUB) return full;
  const official = /^library\/[^/]+$/.test(ref.repository);
  return full.slice(DOCKER_HUB.length + 1 + (official ? "library/".length : 0));
}

/** The key under which a pulled reference is remembered locally (the canonical form, tag kept when a digest is also given). */
export function referenceKey(ref: ImageReference): string {
  return formatReference(ref);
}
