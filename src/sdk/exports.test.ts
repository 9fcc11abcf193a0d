import { describe, expect, it } from "vitest";
import * as pkg from "../index.js";

/** Every name the seed's README and 0.3.7 API export (classes, factories, functions, enum objects). */
const SEED_EXPORTS = [
  "ExecHandle",
  "ExecOutput",
  "ExecSink",
  "Mount",
  "NetworkPolicy",
  "Patch",
  "Sandbox",
  "SandboxFs",
  "SandboxHandle",
  "Secret",
  "Volume",
  "VolumeHandle",
  "allSandboxMetrics",
  "install",
  "isInstalled",
  "LogLevel",
  "PullPolicy",
  "ExecEventType",
  "FsEntryKind",
  "PolicyAction",
];

describe("the package's exports", () => {
  it("has every name the seed exports", () => {
    const missing = SEED_EXPORTS.filter((name) => !(name in pkg));
    expect(missing).toEqual([]);
  });

  it("has the seed's enum values", () => {
    expect(pkg.PullPolicy.IfMissing).toBe("if-missing");
    expect(pkg.LogLevel.Warn).toBe("warn");
    expect(pkg.ExecEventType.Exited).toBe("exited");
    expect(pkg.FsEntryKind.Directory).toBe("directory");
    expect(pkg.PolicyAction.Deny).toBe("deny");
  });

  it("builds the seed's config objects", () => {
    expect(pkg.Mount.bind("./src", { readonly: true })).toEqual({ bind: "./src", readonly: true });
    expect(pkg.Mount.tmpfs({ sizeMib: 64 })).toEqual({ tmpfs: true, sizeMib: 64 });
    expect(pkg.Patch.text("/etc/motd", "hi", { mode: 0o644 })).toEqual({
      kind: "text",
      path: "/etc/motd",
      content: "hi",
      mode: 0o644,
    });
    expect(pkg.Secret.env("API_KEY", { value: "s", allowHosts: ["api.example.com"] })).toMatchObject({
      envVar: "API_KEY",
      allowHosts: ["api.example.com"],
    });
  });

  it("rejects a bad volume before touching anything", async () => {
    await expect(pkg.Volume.create({ name: "-bad" })).rejects.toMatchObject({
      code: "MSB_ERR_INVALID_CONFIG",
      field: "name",
    });
  });
});
