import { describe, expect, it } from "vitest";
import { parseChallenge } from "./challenge.js";

describe("parseChallenge", () => {
  it("parses Docker Hub's bearer challenge", () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
      scope: "repository:library/alpine:pull",
    });
  });
  it("parses a bearer challenge with an error and spaces", () => {
    expect(
      parseChallenge(
        'Bearer realm="http://127.0.0.1:1/token", service="svc", scope="repository:a:pull,push", error="insufficient_scope"',
      ),
    ).toMatchObject({
      scheme: "bearer",
      service: "svc",
      scope: "repository:a:pull,push",
    });
  });
  it("parses basic challenges, case-insensitively", () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: "basic",
      realm: "Registry Realm",
    });
    expect(parseChallenge("basic")).toEqual({ scheme: "basic", realm: undefined });
  });
  it("ignores what it cannot answer", () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseChallenge('Bearer service="x"')).toBeUndefined();
  });
});
