/** Which base URLs serve a reference: Docker Hub mirrors first, then the registry itself, each with its scheme and CA. */
import { DOCKER_HUB, type ImageReference } from "../reference.js";
import { allowsPlainHttp, type RegistrySettings } from "./settings.js";

/** One place to pull from. */
export interface Endpoint {
  /** Base URL without a trailing slash; `/v2/...` is appended. */
  readonly baseUrl: string;
  /** `host[:port]` of `baseUrl`: the key for credentials and CAs. */
  readonly host: string;
  /** A Docker Hub mirror (failures fall through to the next endpoint). */
  readonly mirror: boolean;
  /** Extra CA (PEM) for this host. */
  readonly ca?: string;
}

/** Docker Hub's API host. */
export const DOCKER_HUB_API = "https://registry-1.docker.io";

/** The endpoints to try for `ref`, in order. */
export function endpointsFor(ref: ImageReference, settings: RegistrySettings): Endpoint[] {
  const endpoint = (baseUrl: string, mirror: boolean): Endpoint => {
    const host = new URL(baseUrl).host;
    const ca = settings.ca[host];
    return { baseUrl, host, mirror, ...(ca === undefined ? {} : { ca }) };
  };
  if (ref.registry === DOCKER_HUB) {
    const mirrors = settings.mirrors.map((url) => endpoint(url, true));
    return settings.mirrorsOnly ? mirrors : [...mirrors, endpoint(DOCKER_HUB_API, false)];
  }
  const scheme =
    settings.ca[ref.registry] === undefined && allowsPlainHttp(ref.registry, settings.insecure)
      ? "http"
      : "https";
  return [endpoint(`${scheme}://${ref.registry}`, false)];
}
