import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../../errors.js";
import { compileTls, interceptionEnabled, isBypassed } from "./config.js";

describe("compileTls", () => {
  it("has the seed's defaults", () => {
    const tls = compileTls({});
    expect(tls.verifyUpstream).toBe(true);
    expect([...tls.interceptedPorts]).toEqual([443]);
    expect(tls.blockQuic).toBe(false);
    expect(tls.caCert).toBeUndefined();
    expect(tls.upstreamCaCert).toEqual([]);
  });

  it("matches exact names and *.suffix wildcards (subdomains only)", () => {
    const tls = compileTls({ bypass: ["Pinned.Example.COM.", "*.internal.test"] });
    expect(isBypassed(tls, "pinned.example.com")).toBe(true);
    expect(isBypassed(tls, "a.pinned.example.com")).toBe(false);
    expect(isBypassed(tls, "x.internal.test")).toBe(true);
    expect(isBypassed(tls, "a.b.internal.test")).toBe(true);
    expect(isBypassed(tls, "internal.test")).toBe(false);
    expect(isBypassed(tls, "evilinternal.test")).toBe(false);
    expect(isBypassed(tls, undefined)).toBe(false);
  });

  it("takes one upstream CA path or a list", () => {
    expect(compileTls({ upstreamCaCert: "/a.pem" }).upstreamCaCert).toEqual(["/a.pem"]);
    expect(compileTls({ upstreamCaCert: ["/a.pem", "/b.pem"] }).upstreamCaCert).toEqual(["/a.pem", "/b.pem"]);
  });

  it.each([
    ["on", "network.tls", /must be an object/],
    [{ bypas: [] }, "network.tls.bypas", /not a TLS setting/],
    [{ bypass: "x.com" }, "network.tls.bypass", /array/],
    [{ bypass: ["ok.com", "bad name"] }, "network.tls.bypass[1]", /invalid label/],
    [{ bypass: ["**.x.com"] }, "network.tls.bypass[0]", /invalid label/],
    [{ interceptedPorts: [443, 0] }, "network.tls.interceptedPorts[1]", /port number/],
    [{ interceptedPorts: [8443.5] }, "network.tls.interceptedPorts[0]", /port number/],
    [{ verifyUpstream: "no" }, "network.tls.verifyUpstream", /boolean/],
    [{ blockQuic: 1 }, "network.tls.blockQuic", /boolean/],
    [{ caCert: "/ca.pem" }, "network.tls.caKey", /together/],
    [{ caKey: "/ca.key" }, "network.tls.caCert", /together/],
    [{ caCert: "", caKey: "/k" }, "network.tls.caCert", /PEM file/],
    [{ upstreamCaCert: [3] }, "network.tls.upstreamCaCert[0]", /PEM file/],
  ])("rejects %j naming %s", (raw, field, message) => {
    let error: unknown;
    try {
      compileTls(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).message).toMatch(message);
    expect((error as InvalidConfigError).field).toBe(field);
  });
});

describe("interceptionEnabled", () => {
  it("is on with network.tls or with secrets, off otherwise", () => {
    expect(interceptionEnabled({})).toBe(false);
    expect(interceptionEnabled({ network: {} })).toBe(false);
    expect(interceptionEnabled({ network: { tls: {} } })).toBe(true);
    expect(interceptionEnabled({ secrets: [] })).toBe(false);
    expect(interceptionEnabled({ secrets: [{ envVar: "K" }] })).toBe(true);
  });
});
