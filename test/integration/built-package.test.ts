/**
 * The built package, as users run it: `dist/index.js` spawns `dist/supervisor.cjs` (one CommonJS bundle, see
 * tsup.config.ts), where the other tests run the sources through tsx. A sandbox with TLS interception and a
 * symlink patch makes the bundle load the code it only loads on demand (X.509, tar).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Patch, Sandbox } from "../../dist/index.js";
import { repoRoot } from "../fixtures/artifacts.js";
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

  /**
   * The packages node loaded from node_modules once a plain `node` process has imported (ESM) or required (CJS) the
   * built entry `file`: what every process that uses the SDK pays for at start-up.
   */
  function packagesLoadedBy(file: string): string[] {
    const entry = JSON.stringify(join(repoRoot, "dist", file));
    const load = file.endsWith(".cjs")
      ? `createRequire(import.meta.url)(${entry});`
      : `await import(${entry});`;
    const script = `import { createRequire } from "node:module"; ${load}
      const packages = Object.keys(createRequire(import.meta.url).cache).map((path) => {
        const [scope = "", name = ""] = (path.split("node_modules/").at(-1) ?? "").split("/");
        return scope.startsWith("@") ? scope + "/" + name : scope;
      });
      process.stdout.write(JSON.stringify([...new Set(packages)]));`;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    return JSON.parse(result.stdout) as string[];
  }

  it.each(["index.js", "index.cjs"])(
    "%s loads the X.509 and tar code only when a sandbox needs it, not at import",
    (file) => {
      const loaded = packagesLoadedBy(file);
      expect(loaded).toContain("better-sqlite3"); // the check sees what the import loads
      expect(loaded.filter((name) => /x509|asn1|reflect-metadata|tar-stream/.test(name))).toEqual([]);
    },
  );
});
