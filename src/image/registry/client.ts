/**
 * A Distribution API client for one endpoint and one repository: `/v2/` ping, manifests (with all four Accept types)
 * and blobs (with ranges), answering auth challenges once per request. Non-2xx answers are thrown as
 * {@link RegistryHttpError}; the pull maps them to typed errors with the reference in hand.
 */
import type { RegistryAuthenticator } from "./auth.js";
import type { RegistryCredentials } from "./credentials.js";
import type { Endpoint } from "./endpoints.js";
import { MANIFEST_ACCEPT } from "../media-types.js";
import { MAX_MANIFEST_BYTES } from "../manifest.js";
import { readBody, type HttpClient, type HttpResponse } from "./http.js";
import { ImagePullError, RegistryAuthError } from "../../errors.js";

/** A non-success answer of the registry, with its error code (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, ...). */
export class RegistryHttpError extends Error {
  readonly status: number;
  /** First error code of the JSON error body, if any. */
  readonly registryCode: string | undefined;
  /** The start of the response body, for diagnostics. */
  readonly body: string;
  constructor(status: number, registryCode: string | undefined, message: string, body = "") {
    super(message);
    this.name = "RegistryHttpError";
    this.status = status;
    this.registryCode = registryCode;
    this.body = body;
  }
}

/** A fetched manifest: raw bytes (digest not yet checked), its content type and the digest the registry claims. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  readonly digestHeader: string | undefined;
}

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  readonly http: HttpClient;
  readonly auth: RegistryAuthenticator;
  readonly endpoint: Endpoint;
  readonly repository: string;
  readonly credentials: RegistryCredentials | undefined;
  /** Registry name for messages. */
  readonly registry: string;
  readonly signal?: AbortSignal;
}

const MAX_ERROR_BODY = 64 * 1024;

/** Talks to one repository on one endpoint. */
export class RegistryClient {
  readonly #o: RegistryClientOptions;

  constructor(options: RegistryClientOptions) {
    this.#o = options;
  }

  /** The endpoint this client talks to. */
  get endpoint(): Endpoint {
    return this.#o.endpoint;
  }

  /** `GET /v2/`: checks that a registry answers there and learns its auth challenge. */
  async ping(): Promise<void> {
    const response = await this.#o.http.request({ method: "GET", url: this.#url("/v2/"), ...this.#common() });
    if (response.status === 401) this.#o.auth.learn(this.#o.endpoint, response.header("www-authenticate"));
    else if (response.status !== 200) {
      const error = await httpError(response, `${this.#o.endpoint.baseUrl}/v2/`);
      if (
        response.status === 400 &&
        this.#o.endpoint.baseUrl.startsWith("http:") &&
        /HTTPS/i.test(error.body)
      ) {
        throw new ImagePullError(this.#o.registry, `${this.#o.endpoint.host} serves HTTPS, not plain HTTP`, {
          hint: `add its CA certificate under "registry-ca" in ~/.microsandbox/config.json: { "registry-ca": { "${this.#o.endpoint.host}": "/path/to/ca.pem" } }`,
        });
      }
      throw error;
    }
    response.discard();
  }

  /** Fetches a manifest by tag or digest (bounded to 4 MiB). */
  async manifest(reference: string): Promise<FetchedManifest> {
    const path = `/v2/${this.#o.repository}/manifests/${reference}`;
    const response = await this.#send("GET", path, { accept: MANIFEST_ACCEPT });
    const bytes = await readBody(response, MAX_MANIFEST_BYTES);
    return {
      bytes,
      contentType: response.header("content-type"),
      digestHeader: response.header("docker-content-digest"),
    };
  }

  /**
   * The repository's tags (first page, at most 100), or undefined when the registry says the repository does not
   * exist. Used to tell "unknown image" from "unknown tag" after a 404.
   */
  async tags(): Promise<string[] | undefined> {
    try {
      const response = await this.#send("GET", `/v2/${this.#o.repository}/tags/list?n=100`, {
        accept: "application/json",
      });
      const doc = JSON.parse((await readBody(response, MAX_ERROR_BODY * 16)).toString("utf8")) as {
        tags?: unknown;
      };
      return Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === "string") : [];
    } catch (error) {
      if (error instanceof RegistryHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Opens a blob, from `offset` when it is positive (the registry may answer 206 or 200 from the start). */
  async blob(digest: string, offset = 0): Promise<HttpResponse> {
    return this.#send(
      "GET",
      `/v2/${this.#o.repository}/blobs/${digest}`,
      offset > 0 ? { range: `bytes=${offset}-` } : {},
    );
  }

  async #send(method: "GET" | "HEAD", path: string, headers: Record<string, string>): Promise<HttpResponse> {
    const url = this.#url(path);
    const authRequest = {
      endpoint: this.#o.endpoint,
      scope: `repository:${this.#o.repository}:pull`,
      credentials: this.#o.credentials,
      registry: this.#o.registry,
    };
    const cached = this.#o.auth.cachedAuthorization(authRequest);
    let response = await this.#o.http.request({
      method,
      url,
      headers: withAuth(headers, cached),
      ...this.#common(),
    });
    if (response.status === 401) {
      response.discard();
      const authorization = await this.#o.auth.authorize(authRequest, response.header("www-authenticate"));
      response = await this.#o.http.request({
        method,
        url,
        headers: withAuth(headers, authorization),
        ...this.#common(),
      });
      if (response.status === 401) {
        const error = await httpError(response, url.pathname);
        throw new RegistryAuthError(
          this.#o.registry,
          this.#o.credentials === undefined
            ? `pull access denied for ${this.#o.repository} on ${this.#o.registry}: the repository does not exist or needs credentials`
            : `${this.#o.registry} refused access to ${this.#o.repository} for ${JSON.stringify(this.#o.credentials.username)} (${error.message})`,
          { cause: error },
        );
      }
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw await httpError(response, url.pathname);
  }

  #url(path: string): URL {
    return new URL(`${this.#o.endpoint.baseUrl}${path}`);
  }

  #common(): { signal?: AbortSignal; ca?: string } {
    return {
      ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }),
      ...(this.#o.endpoint.ca === undefined ? {} : { ca: this.#o.endpoint.ca }),
    };
  }
}

function withAuth(
  headers: Record<string, string>,
  authorization: string | undefined,
): Record<string, string> {
  return authorization === undefined ? headers : { ...headers, authorization };
}

/** Reads the (bounded) error body of a failed response into a {@link RegistryHttpError}. */
async function httpError(response: HttpResponse, what: string): Promise<RegistryHttpError> {
  let code: string | undefined;
  let detail = "";
  let text = "";
  try {
    const body = await readBody(response, MAX_ERROR_BODY);
    text = body.toString("utf8", 0, Math.min(body.length, 2048));
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    code = typeof first?.code === "string" ? first.code : undefined;
    detail = typeof first?.message === "string" ? `: ${first.message}` : "";
  } catch (error) {
    detail = error instanceof SyntaxError ? "" : ` (body unreadable: ${(error as Error).message})`;
  }
  return new RegistryHttpError(
    response.status,
    code,
    `${what} answered HTTP ${response.status}${code === undefined ? "" : ` ${code}`}${detail}`,
    text,
  );
}
