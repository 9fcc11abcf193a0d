import { describe, expect, it } from "vitest";
import { digestOf, isDigest, parseDigest, verifyBytes } from "./digest.js";
import { parseImageConfig } from "./image-config.js";
import { ShapeError } from "./json-shape.js";
import { parseManifest } from "./manifest.js";
import { formatPlatform, parsePlatform, selectPlatform, type Platform } from "./platform.js";
import { ImageDigestError, InvalidConfigError } from "../errors.js";

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("parseManifest", () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D("c"), size: 10 },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: D("a"),
        size: 5,
        annotations: { x: "y" },
      },
    ],
  };
  it("parses an image manifest and an index", () => {
    expect(parseManifest(json(manifest), undefined)).toMatchObject({
      kind: "manifest",
      layers: [{ digest: D("a"), size: 5, annotations: { x: "y" } }],
    });
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: D("b"),
          size: 3,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
      ],
    };
    expect(
      parseManifest(json(index), "application/vnd.docker.distribution.manifest.list.v2+json; charset=x"),
    ).toMatchObject({
      kind: "index",
      mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
      manifests: [{ platform: { os: "linux", architecture: "arm64", variant: "v8" } }],
    });
    expect(parseManifest(json(index), "application/json").mediaType).toBe(
      "application/vnd.oci.image.index.v1+json",
    );
  });
  it.each([
    ["schema 1", { ...manifest, schemaVersion: 1 }, /schemaVersion 1/],
    [
      "a bad digest",
      { ...manifest, config: { ...manifest.config, digest: "sha256:xyz" } },
      /invalid or unsupported digest/,
    ],
    [
      "a negative size",
      { ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] },
      /non-negative integer/,
    ],
    [
      "an unknown type",
      { ...manifest, mediaType: "application/vnd.example+json" },
      /not an image manifest or index/,
    ],
    ["no layers array", { ...manifest, layers: "x" }, /not an array/],
  ])("rejects %s", (_name, doc, message) => {
    expect(() => parseManifest(json(doc), undefined)).toThrow(message);
    expect(() => parseManifest(json(doc), undefined)).toThrow(ShapeError);
  });
  it("rejects non-JSON", () => {
    expect(() => parseManifest(Buffer.from("{"), undefined)).toThrow(/not valid JSON/);
  });
});

describe("parseImageConfig", () => {
  it("keeps what sandboxes inherit, leaving unset fields undefined", () => {
    const config = parseImageConfig(
      json({
        architecture: "amd64",
        os: "linux",
        created: "2024-01-01T00:00:00Z",
        config: {
          Env: ["A=1"],
          Cmd: ["python3"],
          Entrypoint: null,
          WorkingDir: "",
          User: "app",
          ExposedPorts: { "80/tcp": {} },
          Labels: { a: "b" },
          StopSignal: "SIGINT",
          Volumes: { "/data": {} },
        },
        rootfs: { type: "layers", diff_ids: [D("d")] },
      }),
    );
    expect(config).toEqual({
      os: "linux",
      architecture: "amd64",
      created: "2024-01-01T00:00:00Z",
      env: ["A=1"],
      cmd: ["python3"],
      user: "app",
      exposedPorts: ["80/tcp"],
      labels: { a: "b" },
      stopSignal: "SIGINT",
      volumes: ["/data"],
      diffIds: [D("d")],
    });
  });
  it("rejects wrong types", () => {
    expect(() =>
      parseImageConfig(
        json({
          os: "linux",
          architecture: "amd64",
          config: { Env: "A=1" },
          rootfs: { type: "layers", diff_ids: [] },
        }),
      ),
    ).toThrow(/Env is not an array/);
    expect(() =>
      parseImageConfig(json({ os: "linux", architecture: "amd64", rootfs: { type: "other" } })),
    ).toThrow(/rootfs.type/);
  });
});

describe("platforms", () => {
  const entries = (...platforms: Platform[]): { platform: Platform }[] =>
    platforms.map((platform) => ({ platform }));
  it("parses and formats", () => {
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(formatPlatform({ os: "linux", architecture: "amd64" })).toBe("linux/amd64");
    expect(() => parsePlatform("linux")).toThrow(InvalidConfigError);
  });
  it("selects exact, then variant-less, then the best lower arm variant", () => {
    const list = entries(
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "arm", variant: "v6" },
      { os: "linux", architecture: "arm", variant: "v5" },
    );
    expect(selectPlatform(list, { os: "linux", architecture: "arm64" })?.platform.architecture).toBe("arm64");
    expect(
      selectPlatform(list, { os: "linux", architecture: "amd64", variant: "v3" })?.platform.architecture,
    ).toBe("amd64");
    expect(selectPlatform(list, { os: "linux", architecture: "arm", variant: "v7" })?.platform.variant).toBe(
      "v6",
    );
    expect(selectPlatform(list, { os: "windows", architecture: "amd64" })).toBeUndefined();
    expect(
      selectPlatform(entries({ os: "unknown", architecture: "unknown" }), {
        os: "linux",
        architecture: "amd64",
      }),
    ).toBeUndefined();
  });
});

describe("digests", () => {
  it("validates and verifies", () => {
    expect(isDigest(D("a"))).toBe(true);
    expect(isDigest(`sha512:${"a".repeat(128)}`)).toBe(true);
    expect(isDigest(`sha256:${"A".repeat(64)}`)).toBe(false);
    expect(() => parseDigest("md5:x", "thing")).toThrow(ImageDigestError);
    const bytes = Buffer.from("hello");
    expect(() => {
      verifyBytes(bytes, digestOf(bytes), "x");
    }).not.toThrow();
    expect(() => {
      verifyBytes(bytes, D("0"), "the manifest");
    }).toThrow(/the manifest does not match its digest/);
  });
});
