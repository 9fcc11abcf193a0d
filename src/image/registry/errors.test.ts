import { describe, expect, it } from "vitest";
import { ImageNotFoundError, ImagePullError, RegistryAuthError } from "../../errors.js";
import { ShapeError } from "../json-shape.js";
import { RegistryHttpError } from "./client.js";
import { bareMessage, combineEndpointErrors, toPullError, type PullErrorContext } from "./errors.js";

const ctx: PullErrorContext = {
  reference: "python:3.12",
  registry: "docker.io",
  repository: "library/python",
  tag: "3.12",
  endpoint: { baseUrl: "https://registry-1.docker.io", host: "registry-1.docker.io", mirror: false },
};

describe("toPullError", () => {
  it.each<[unknown, new (...args: never[]) => Error, RegExp]>([
    [
      new RegistryHttpError(404, "MANIFEST_UNKNOWN", "x"),
      ImageNotFoundError,
      /tag "3.12" not found in library\/python on docker.io/,
    ],
    [
      new RegistryHttpError(404, "NAME_UNKNOWN", "x"),
      ImageNotFoundError,
      /repository library\/python not found/,
    ],
    [new RegistryHttpError(404, "BLOB_UNKNOWN", "gone"), ImagePullError, /gone/],
    [new RegistryHttpError(403, "DENIED", "no"), RegistryAuthError, /denied access/],
    [new RegistryHttpError(500, undefined, "boom"), ImagePullError, /boom/],
    [new ShapeError("bad json"), ImagePullError, /invalid document: bad json/],
    [
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      ImagePullError,
      /\(ECONNREFUSED\)/,
    ],
  ])("maps %s", (error, type, message) => {
    const typed = toPullError(error, ctx);
    expect(typed).toBeInstanceOf(type);
    expect(typed.message).toMatch(message);
  });

  it("names the mirror, and combines endpoint failures", () => {
    const mirror = {
      ...ctx.endpoint,
      baseUrl: "http://127.0.0.1:5000",
      host: "127.0.0.1:5000",
      mirror: true,
    };
    const a = toPullError(new RegistryHttpError(404, "MANIFEST_UNKNOWN", "x"), { ...ctx, endpoint: mirror });
    expect(a.message).toContain("mirror http://127.0.0.1:5000");
    const b = toPullError(new RegistryHttpError(404, "MANIFEST_UNKNOWN", "x"), ctx);
    expect(
      combineEndpointErrors("python:3.12", [
        { endpoint: mirror, error: a },
        { endpoint: ctx.endpoint, error: b },
      ]),
    ).toBeInstanceOf(ImageNotFoundError);
    const c = toPullError(Object.assign(new Error("down"), { code: "ECONNREFUSED" }), ctx);
    const combined = combineEndpointErrors("python:3.12", [
      { endpoint: mirror, error: a },
      { endpoint: ctx.endpoint, error: c },
    ]);
    expect(combined).toBeInstanceOf(ImagePullError);
    expect(combined.message).toContain(`http://127.0.0.1:5000: ${bareMessage(a)}`);
    expect(bareMessage(a)).not.toContain(a.hint ?? "@@");
  });
});
