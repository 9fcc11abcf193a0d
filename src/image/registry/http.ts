/**
 * The HTTP layer of the registry client, on node:http/node:https (the same stack fetch uses, minus what fetch
 * cannot do without extra packages on Node 20: a per-registry CA). Keep-alive agents per CA, an idle timeout on
 * every socket, redirects followed without leaking credentials to another origin, and bounded body reads.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** One request. */
export interface HttpRequest {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH";
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
  /** Extra CA certificates (PEM) trusted for this request, on top of Node's bundle. */
  readonly ca?: string;
}

/** A response whose body has not been read yet: read it with {@link readBody} or consume `body`, or `discard()` it. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  readonly body: IncomingMessage;
  /** A single header value (the first, if repeated). */
  header(name: string): string | undefined;
  /** Drops the body (frees the socket). */
  discard(): void;
}

/** Thrown when a body is larger than the caller allows. */
export class BodyTooLargeError extends Error {
  constructor(url: URL, limit: number) {
    super(`response from ${url.origin}${url.pathname} exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Abort when a socket is silent this long (connect, headers or body). Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Redirects followed per request (default 5). */
  readonly maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An HTTP client with its own connection pools. Call {@link HttpClient.close} when done. */
export class HttpClient {
  readonly #idleTimeoutMs: number;
  readonly #maxRedirects: number;
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  readonly #https = new Map<string, HttpsAgent>();

  constructor(options: HttpClientOptions = {}) {
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.#maxRedirects = options.maxRedirects ?? 5;
  }

  /** Sends the request, following redirects (GET/HEAD only). Network failures reject with Node's errors. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; ; hop++) {
      const response = await this.#once(current);
      const location = response.header("location");
      if (
        !REDIRECTS.has(response.status) ||
        location === undefined ||
        (req.method !== "GET" && req.method !== "HEAD")
      )
        return response;
      response.discard();
      if (hop >= this.#maxRedirects) throw new Error(`too many redirects from ${req.url.href}`);
      const next = new URL(location, current.url);
      if (current.url.protocol === "https:" && next.protocol !== "https:")
        throw new Error(`refusing redirect from HTTPS to ${next.protocol}`);
      current = {
        ...current,
        url: next,
        headers: next.origin === current.url.origin ? (current.headers ?? {}) : withoutAuth(current.headers),
      };
    }
  }

  /** Closes idle pooled connections. */
  close(): void {
    this.#http.destroy();
    for (const agent of this.#https.values()) agent.destroy();
    this.#https.clear();
  }

  #once(req: HttpRequest): Promise<HttpResponse> {
    const secure = req.url.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    const agent = secure ? this.#httpsAgent(req.ca) : this.#http;
    return new Promise((resolve, reject) => {
      const request = send(
        req.url,
        { method: req.method, headers: req.headers, agent, signal: req.signal },
        (res) => {
          res.setTimeout(this.#idleTimeoutMs, () => res.destroy(timeoutError(req.url, this.#idleTimeoutMs)));
          resolve(response(req.url, res));
        },
      );
      request.setTimeout(this.#idleTimeoutMs, () =>
        request.destroy(timeoutError(req.url, this.#idleTimeoutMs)),
      );
      request.once("error", reject);
      request.end(req.body);
    });
  }

  #httpsAgent(ca: string | undefined): HttpsAgent {
    const key = ca ?? "";
    let agent = this.#https.get(key);
    if (agent === undefined) {
      agent = new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(ca === undefined ? {} : { ca: [ca] }) });
      this.#https.set(key, agent);
    }
    return agent;
  }
}

function response(url: URL, res: IncomingMessage): HttpResponse {
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    url,
    body: res,
    header: (name) => {
      const value = res.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    discard: () => {
      res.resume();
    },
  };
}

function withoutAuth(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {}))
    if (key.toLowerCase() !== "authorization") copy[key] = value;
  return copy;
}

function timeoutError(url: URL, ms: number): Error {
  const error = new Error(`no data from ${url.host} for ${ms} ms`) as NodeJS.ErrnoException;
  error.code = "ETIMEDOUT";
  return error;
}

/** Reads a whole body, refusing more than `maxBytes` (checked against Content-Length first, then while reading). */
export async function readBody(res: HttpResponse, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.header("content-length") ?? NaN);
  if (declared > maxBytes) {
    res.body.destroy();
    throw new BodyTooLargeError(res.url, maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.body.destroy();
      throw new BodyTooLargeError(res.url, maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
