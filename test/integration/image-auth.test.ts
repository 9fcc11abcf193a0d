/**
 * Registries behind authentication and TLS: Basic (htpasswd, bcrypt), Bearer tokens from a token server (anonymous
 * and with credentials, scoped, reused until they expire), credentials from the sandbox config and from
 * ~/.docker/config.json, and HTTPS with a user-supplied CA.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImagePullError, RegistryAuthError } from "../../src/errors.js";
import {
  TEST_USER,
  startTokenServer,
  testCaAndServerCert,
  writeHtpasswd,
  type TokenServer,
} from "../fixtures/registry/auth-fixtures.js";
import { cacheState, testHome } from "../fixtures/registry/harness.js";
import { pushImage } from "../fixtures/registry/push.js";
import {
  startRegistry,
  startRegistryOnStorage,
  type TestRegistry,
} from "../fixtures/registry/registry-server.js";
import { HOST_PLATFORM, seedRegistry, standardImages } from "../fixtures/registry/seed.js";

const ONLY = ["busybox:latest"];
let dir: string;
let basic: TestRegistry;
let tokens: TokenServer;
let bearer: TestRegistry;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "msb-auth-"));
  basic = await startRegistry({ auth: { kind: "htpasswd", htpasswd: await writeHtpasswd(dir) } });
  await seedRegistry(basic.url, { only: ONLY, credentials: TEST_USER });
  tokens = await startTokenServer({ dir });
  bearer = await startRegistry({
    auth: {
      kind: "token",
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      certPath: tokens.certPath,
    },
  });
  await seedRegistry(bearer.url, { only: ONLY, credentials: TEST_USER });
  const busybox = standardImages().get("busybox:latest");
  if (busybox === undefined) throw new Error("no busybox image");
  await pushImage(
    { registryUrl: bearer.url, repository: "private/busybox", tag: "latest", credentials: TEST_USER },
    busybox,
  );
});
afterAll(async () => {
  await bearer.stop();
  await tokens.stop();
  await basic.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("Basic auth (htpasswd)", () => {
  it("pulls with the sandbox's registryAuth", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const info = await images.pull(`${basic.host}/busybox:latest`, { auth: TEST_USER });
    expect(info.references).toEqual([`${basic.host}/busybox:latest`]);
  });

  it("pulls with credentials from ~/.docker/config.json", async () => {
    await using home = await testHome();
    const dockerDir = await home.writeDockerConfig({ [basic.host]: TEST_USER });
    await using images = await home.service({ vars: { DOCKER_CONFIG: dockerDir } });
    await expect(images.pull(`${basic.host}/busybox:latest`)).resolves.toMatchObject({
      platform: { architecture: HOST_PLATFORM.architecture },
    });
  });

  it("wrong or missing credentials are RegistryAuthError, and nothing is cached", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const wrong = images.pull(`${basic.host}/busybox:latest`, {
      auth: { username: TEST_USER.username, password: "wrong" },
    });
    await expect(wrong).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(wrong).rejects.toThrow(`refused access to busybox for "${TEST_USER.username}"`);
    const none = images.pull(`${basic.host}/busybox:latest`);
    await expect(none).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(none).rejects.toThrow("requires a username and password");
    expect(await cacheState(home.paths)).toMatchObject({ images: [], blobs: [], scratch: [] });
  });
});

describe("Bearer tokens", () => {
  it("pulls a public repository anonymously, reusing the token until it expires", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const before = tokens.requests.length;
    await images.pull(`${bearer.host}/busybox:latest`);
    const issued = tokens.requests.slice(before);
    expect(issued).toEqual([{ user: undefined, scope: "repository:busybox:pull", granted: true }]);
    await images.pull(`${bearer.host}/busybox:latest`);
    expect(tokens.requests.length).toBe(before + 1);
  });

  it("asks for a new token once the old one expired", async () => {
    await using shortDir = {
      path: await mkdtemp(join(tmpdir(), "msb-short-")),
      async [Symbol.asyncDispose]() {
        await rm(this.path, { recursive: true, force: true });
      },
    };
    await using shortTokens = await startTokenServer({ dir: shortDir.path, expiresInSeconds: 2 });
    await using registry = await startRegistry({
      auth: {
        kind: "token",
        realm: shortTokens.realm,
        service: shortTokens.service,
        issuer: shortTokens.issuer,
        certPath: shortTokens.certPath,
      },
    });
    await seedRegistry(registry.url, { only: ONLY, credentials: TEST_USER });
    const pushes = shortTokens.requests.length;
    await using home = await testHome();
    await using images = await home.service();
    await images.pull(`${registry.host}/busybox:latest`);
    expect(shortTokens.requests.length - pushes).toBe(1); // one token for the whole pull
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await images.pull(`${registry.host}/busybox:latest`);
    expect(shortTokens.requests.length - pushes).toBe(2);
  });

  it("uses credentials for private repositories; refuses anonymous and wrong ones", async () => {
    await using home = await testHome();
    await using images = await home.service();
    const anonymous = images.pull(`${bearer.host}/private/busybox:latest`);
    await expect(anonymous).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(anonymous).rejects.toThrow("pull access denied for private/busybox");
    const wrong = images.pull(`${bearer.host}/private/busybox:latest`, {
      auth: { username: TEST_USER.username, password: "nope" },
    });
    await expect(wrong).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(wrong).rejects.toThrow(`refused the credentials of "${TEST_USER.username}"`);
    expect(await cacheState(home.paths)).toMatchObject({ images: [], blobs: [], scratch: [] });
    const ok = await images.pull(`${bearer.host}/private/busybox:latest`, { auth: TEST_USER });
    expect(ok.references).toEqual([`${bearer.host}/private/busybox:latest`]);
    expect(tokens.requests.at(-1)).toEqual({
      user: TEST_USER.username,
      scope: "repository:private/busybox:pull",
      granted: true,
    });
  });
});

describe("HTTPS with a user-supplied CA", () => {
  it("trusts the CA given in the config file, and only then", async () => {
    await using certs = {
      path: await mkdtemp(join(tmpdir(), "msb-tls-")),
      async [Symbol.asyncDispose]() {
        await rm(this.path, { recursive: true, force: true });
      },
    };
    const { ca, server } = await testCaAndServerCert(certs.path);
    await using plain = await startRegistry();
    await seedRegistry(plain.url, { only: ONLY });
    // A second registry process serving the same storage over TLS (the push helper speaks plain HTTP only).
    await using tls = await startRegistryOnStorage(plain.dataDir, {
      tls: { certPath: server.certPath, keyPath: server.keyPath, ca: ca.certPem },
    });
    expect(tls.url.startsWith("https://")).toBe(true);

    await using home = await testHome();
    {
      await using images = await home.service({ retry: { attempts: 1 } });
      const plainHttp = images.pull(`${tls.host}/busybox:latest`);
      await expect(plainHttp).rejects.toBeInstanceOf(ImagePullError);
      await expect(plainHttp).rejects.toThrow(`${tls.host} serves HTTPS, not plain HTTP`);
    }
    await home.writeConfig({ "registry-ca": { [tls.host]: server.certPath } }); // not the CA that signed it
    {
      await using images = await home.service({ retry: { attempts: 1 } });
      const untrusted = images.pull(`${tls.host}/busybox:latest`);
      await expect(untrusted).rejects.toBeInstanceOf(ImagePullError);
      await expect(untrusted).rejects.toThrow(/certificate/);
    }
    await home.writeConfig({ "registry-ca": { [tls.host]: ca.certPath } });
    await using images = await home.service();
    const info = await images.pull(`${tls.host}/busybox:latest`);
    expect(info.references).toEqual([`${tls.host}/busybox:latest`]);
  });
});
