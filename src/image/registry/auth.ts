/**
 * Registry authentication: Basic, and the Bearer token flow (anonymous or with credentials) with tokens cached per
 * (realm, service, scope, user) until they expire. One instance per {@link ImageService}: no module-level state.
 */
import { RegistryAuthError } from "../../errors.js";
import { ShapeError, asObject, optionalString, parseJson } from "../json-shape.js";
import { parseChallenge, type Challenge } from "./challenge.js";
import type { RegistryCredentials } from "./credentials.js";
import type { Endpoint } from "./endpoints.js";
import { readBody, type HttpClient } from "./http.js";
import { isLoopbackHost } from "./settings.js";

/** Who is asking, for what. */
export interface AuthRequest {
  readonly endpoint: Endpoint;
  /** `repository:<name>:pull` (or `pull,push`). */
  readonly scope: string;
  readonly credentials: RegistryCredentials | undefined;
  /** Registry name for messages (`docker.io`, `localhost:5000`). */
  readonly registry: string;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Tokens are renewed this long before they expire (at most 10% of their lifetime). */
const EXPIRY_MARGIN_MS = 10_000;

/** Holds challenges and tokens; produces `Authorization` headers. */
export class RegistryAuthenticator {
  readonly #http: HttpClient;
  readonly #now: () => number;
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, { readonly value: string; readonly expiresAt: number }>();

  constructor(options: { http: HttpClient; now?: () => number }) {
    this.#http = options.http;
    this.#now = options.now ?? Date.now;
  }

  /** The header to send up front, when a challenge for this endpoint is already known (and a token is cached). */
  cachedAuthorization(request: AuthRequest): string | undefined {
    const challenge = this.#challenges.get(request.endpoint.baseUrl);
    if (challenge === undefined) return undefined;
    if (challenge.scheme === "basic")
      return request.credentials === undefined ? undefined : basic(request.credentials);
    const token = this.#tokens.get(tokenKey(challenge, request.scope, request.credentials));
    return token !== undefined && token.expiresAt > this.#now() ? `Bearer ${token.value}` : undefined;
  }

  /** Remembers the endpoint's challenge from a `WWW-Authenticate` header (e.g. from the `/v2/` ping). */
  learn(endpoint: Endpoint, header: string | undefined): void {
    const challenge = parseChallenge(header);
    if (challenge !== undefined) this.#challenges.set(endpoint.baseUrl, challenge);
  }

  /** Answers a 401: returns the header to retry with. Throws {@link RegistryAuthError} when it cannot be answered. */
  async authorize(request: AuthRequest, header: string | undefined): Promise<string> {
    const challenge = parseChallenge(header) ?? this.#challenges.get(request.endpoint.baseUrl);
    if (challenge === undefined) {
      throw new RegistryAuthError(
        request.registry,
        `${request.registry} requires authentication with a scheme we do not support (${header ?? "no WWW-Authenticate"})`,
      );
    }
    this.#challenges.set(request.endpoint.baseUrl, challenge);
    if (challenge.scheme === "basic") {
      if (request.credentials === undefined) {
        throw new RegistryAuthError(request.registry, `${request.registry} requires a username and password`);
      }
      return basic(request.credentials);
    }
    const scope = request.scope;
    const token = await this.#fetchToken(challenge, scope, request);
    this.#tokens.set(tokenKey(challenge, scope, request.credentials), token);
    return `Bearer ${token.value}`;
  }

  async #fetchToken(
    challenge: Extract<Challenge, { scheme: "bearer" }>,
    scope: string,
    request: AuthRequest,
  ): Promise<{ value: string; expiresAt: number }> {
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch (error) {
      throw new RegistryAuthError(
        request.registry,
        `the token realm ${JSON.stringify(challenge.realm)} is not a URL`,
        { cause: error },
      );
    }
    if (
      url.protocol !== "https:" &&
      !(url.protocol === "http:" && (isLoopbackHost(url.host) || url.host === request.endpoint.host))
    ) {
      throw new RegistryAuthError(
        request.registry,
        `refusing the token realm ${url.origin}: plain HTTP to another host`,
      );
    }
    if (challenge.service !== undefined) url.searchParams.set("service", challenge.service);
    url.searchParams.set("scope", scope);
    const headers: Record<string, string> =
      request.credentials === undefined ? {} : { authorization: basic(request.credentials) };
    const response = await this.#http.request({
      method: "GET",
      url,
      headers,
      ...(request.endpoint.ca === undefined ? {} : { ca: request.endpoint.ca }),
    });
    if (response.status === 401 || response.status === 403) {
      response.discard();
      throw new RegistryAuthError(
        request.registry,
        request.credentials === undefined
          ? `${request.registry} refused anonymous access to ${scope}`
          : `${request.registry} refused the credentials of ${JSON.stringify(request.credentials.username)}`,
      );
    }
    if (response.status !== 200) {
      response.discard();
      throw new RegistryAuthError(
        request.registry,
        `the token server ${url.origin} answered HTTP ${response.status}`,
      );
    }
    return parseToken(await readBody(response, MAX_TOKEN_RESPONSE), this.#now(), request.registry);
  }
}

function parseToken(body: Buffer, now: number, registry: string): { value: string; expiresAt: number } {
  try {
    const doc = asObject(parseJson(body, "the token response"), "the token response");
    const value =
      optionalString(doc["token"], "token") ?? optionalString(doc["access_token"], "access_token");
    if (value === undefined || value === "") throw new ShapeError("the token response has no token");
    const expiresIn = typeof doc["expires_in"] === "number" && doc["expires_in"] > 0 ? doc["expires_in"] : 60;
    const issuedAt = Date.parse(optionalString(doc["issued_at"], "issued_at") ?? "");
    const start = Number.isFinite(issuedAt) ? Math.min(issuedAt, now) : now;
    return { value, expiresAt: start + expiresIn * 1000 - Math.min(EXPIRY_MARGIN_MS, expiresIn * 100) };
  } catch (error) {
    if (error instanceof ShapeError) throw new RegistryAuthError(registry, error.message, { cause: error });
    throw error;
  }
}

function basic(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

function tokenKey(
  challenge: Extract<Challenge, { scheme: "bearer" }>,
  scope: string,
  credentials: RegistryCredentials | undefined,
): string {
  return JSON.stringify([challenge.realm, challenge.service ?? "", scope, credentials?.username ?? ""]);
}
