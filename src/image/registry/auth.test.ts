import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryAuthError } from "../../errors.js";
import { RegistryAuthenticator } from "./auth.js";
import type { Endpoint } from "./endpoints.js";
import { BodyTooLargeError, HttpClient, readBody } from "./http.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  }
});

async function serve(
  handler: (req: IncomingMessage) => { status: number; body?: string; headers?: Record<string, string> },
): Promise<string> {
  const server = createServer((req, res) => {
    const r = handler(req);
    res.writeHead(r.status, r.headers).end(r.body ?? "");
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

const endpoint = (baseUrl: string): Endpoint => ({ baseUrl, host: new URL(baseUrl).host, mirror: false });

describe("RegistryAuthenticator", () => {
  it("fetches a scoped token with credentials and reuses it until it expires", async () => {
    const requests: { scope: string | null; auth: string | undefined }[] = [];
    const realm = await serve((req) => {
      const url = new URL(req.url ?? "/", "http://x");
      requests.push({ scope: url.searchParams.get("scope"), auth: req.headers.authorization });
      return { status: 200, body: JSON.stringify({ access_token: `t${requests.length}`, expires_in: 60 }) };
    });
    let now = 1_000_000;
    const http = new HttpClient();
    const auth = new RegistryAuthenticator({ http, now: () => now });
    const request = {
      endpoint: endpoint("http://127.0.0.1:1"),
      scope: "repository:a:pull",
      credentials: { username: "u", password: "p" },
      registry: "r",
    };
    expect(auth.cachedAuthorization(request)).toBeUndefined();
    const header = await auth.authorize(request, `Bearer realm="${realm}/token",service="svc"`);
    expect(header).toBe("Bearer t1");
    expect(requests).toEqual([
      { scope: "repository:a:pull", auth: `Basic ${Buffer.from("u:p").toString("base64")}` },
    ]);
    expect(auth.cachedAuthorization(request)).toBe("Bearer t1");
    expect(auth.cachedAuthorization({ ...request, scope: "repository:b:pull" })).toBeUndefined();
    now += 55_000; // within 6 s (10% of the lifetime) of expiry: renewed
    expect(auth.cachedAuthorization(request)).toBeUndefined();
    http.close();
  });

  it("answers Basic challenges, and refuses what it cannot answer", async () => {
    const http = new HttpClient();
    const auth = new RegistryAuthenticator({ http });
    const request = {
      endpoint: endpoint("http://127.0.0.1:1"),
      scope: "repository:a:pull",
      credentials: undefined,
      registry: "r",
    };
    await expect(auth.authorize(request, 'Basic realm="x"')).rejects.toThrow(
      /requires a username and password/,
    );
    await expect(
      auth.authorize({ ...request, credentials: { username: "u", password: "p" } }, 'Basic realm="x"'),
    ).resolves.toBe(`Basic ${Buffer.from("u:p").toString("base64")}`);
    await expect(auth.authorize(request, "Negotiate")).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(auth.authorize(request, 'Bearer realm="http://example.com/token"')).rejects.toThrow(
      /plain HTTP to another host/,
    );
    http.close();
  });

  it("reports refused credentials and malformed token answers as RegistryAuthError", async () => {
    const realm = await serve((req) =>
      req.headers.authorization === undefined ? { status: 200, body: "{}" } : { status: 401 },
    );
    const http = new HttpClient();
    const auth = new RegistryAuthenticator({ http });
    const request = {
      endpoint: endpoint("http://127.0.0.1:1"),
      scope: "repository:a:pull",
      credentials: { username: "u", password: "bad" },
      registry: "r",
    };
    await expect(auth.authorize(request, `Bearer realm="${realm}"`)).rejects.toThrow(
      `refused the credentials of "u"`,
    );
    await expect(
      auth.authorize({ ...request, credentials: undefined }, `Bearer realm="${realm}"`),
    ).rejects.toThrow(/no token/);
    http.close();
  });
});

describe("HttpClient", () => {
  it("bounds bodies and drops credentials on cross-origin redirects", async () => {
    const target = await serve((req) => ({ status: 200, body: req.headers.authorization ?? "no auth" }));
    const origin = await serve((req) =>
      req.url === "/big"
        ? { status: 200, body: "x".repeat(100) }
        : { status: 307, headers: { location: `${target}/blob` } },
    );
    const http = new HttpClient();
    const redirected = await http.request({
      method: "GET",
      url: new URL(`${origin}/start`),
      headers: { authorization: "Bearer secret" },
    });
    expect((await readBody(redirected, 1000)).toString()).toBe("no auth");
    expect(redirected.url.href).toBe(`${target}/blob`);
    const big = await http.request({ method: "GET", url: new URL(`${origin}/big`) });
    await expect(readBody(big, 10)).rejects.toBeInstanceOf(BodyTooLargeError);
    http.close();
  });
});
