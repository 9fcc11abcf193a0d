import { describe, expect, it } from "vitest";
import { ImageReferenceError } from "../errors.js";
import { familiarName, formatReference, parseReference } from "./reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it.each([
    ["alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.19", "docker.io/library/alpine:3.19"],
    ["python:3.12", "docker.io/library/python:3.12"],
    ["library/alpine", "docker.io/library/alpine:latest"],
    ["bitnami/redis:7", "docker.io/bitnami/redis:7"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["registry-1.docker.io/org/x", "docker.io/org/x:latest"],
    ["ghcr.io/org/team/app:v1.2", "ghcr.io/org/team/app:v1.2"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/x", "localhost:5000/x:latest"],
    ["127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b:t"],
    ["[::1]:5000/app:1", "[::1]:5000/app:1"],
    ["Registry/app", "Registry/app:latest"],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`],
    [`alpine:3@${D}`, `docker.io/library/alpine:3@${D}`],
    ["localhost:5000", "docker.io/library/localhost:5000"],
    ["a__b/c-d.e_f", "docker.io/a__b/c-d.e_f:latest"],
  ])("%s -> %s", (input, canonical) => {
    expect(formatReference(parseReference(input))).toBe(canonical);
  });

  it("splits the parts", () => {
    expect(parseReference(`localhost:5000/a/b:t@${D}`)).toEqual({
      registry: "localhost:5000",
      repository: "a/b",
      tag: "t",
      digest: D,
    });
    expect(parseReference(`x@${D}`).tag).toBeUndefined();
  });

  it.each([
    [""],
    [" alpine"],
    ["Alpine"],
    ["alpine:"],
    ["alpine:-bad"],
    [`alpine:${"t".repeat(129)}`],
    ["alpine@sha256:abc"],
    ["alpine@md5:" + "a".repeat(32)],
    ["/alpine"],
    ["alpine/"],
    ["a//b"],
    ["a/-b"],
    ["localhost:99999/x"],
    ["exa_mple.com/x"],
    ["x".repeat(256)],
  ])("rejects %j and names it", (input) => {
    const error = (() => {
      try {
        parseReference(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ImageReferenceError);
    expect((error as ImageReferenceError).code).toBe("MSB_ERR_IMAGE_REFERENCE");
    expect((error as ImageReferenceError).reference).toBe(input);
    expect((error as Error).message).toContain(JSON.stringify(input));
  });
});

describe("familiarName", () => {
  it.each([
    ["alpine", "alpine:latest"],
    ["bitnami/redis:7", "bitnami/redis:7"],
    ["library/a/b", "library/a/b:latest"],
    ["localhost:5000/x:1", "localhost:5000/x:1"],
  ])("%s -> %s", (input, short) => {
    expect(familiarName(parseReference(input))).toBe(short);
  });
});
