/**
 * The built package, as users run it: `dist/index.js` spawns `dist/supervisor.cjs` (one CommonJS bundle, see
 * tsup.config.ts), where the other tests run the sources through tsx. A sandbox with TLS interception and a
 * symlink patch makes the bundle load the code it only loads on demand (X.509, tar).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Patch, Sandbox } from "../../dist/index.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

useSandboxEnv();

describe("the built package", () => {
  it("runs a sandbox on the bundled supervisor, with the code it loads on demand", async () => {
    await using sandbox = await Sandbox.create({
      name: "built",
      image: "alpine:latest",
      network: { tls: { bypass: ["example.test"] } },
      patches: [Patch.symlink("/etc/hostname", "/root/link")],
    });
    const out = await sandbox.shell("readlink /root/link; test -s /.msb/tls/ca.pem && echo ca");
    expect(out.stdout()).toBe("/etc/hostname\nca\n");
    const { record } = await Sandbox.get("built");
    const cmdline = readFileSync(`/proc/${record.supervisorPid ?? 0}/cmdline`, "utf8").split("\0");
    expect(cmdline.some((arg) => arg.endsWith("dist/supervisor.cjs"))).toBe(true);
  });
});
