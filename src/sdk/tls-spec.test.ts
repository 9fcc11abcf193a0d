import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidConfigError } from "../errors.js";
import { generateCa, installationCaPaths } from "../net/tls/ca.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { buildTlsSpec, resolveTlsPaths } from "./tls-spec.js";

const temp = tempDirs("msb-tls-spec-", { after: "each" });

describe("buildTlsSpec", () => {
  it("is absent without network.tls and secrets", async () => {
    expect(await buildTlsSpec({ network: { policy: "allow-all" } }, temp(), {})).toBeUndefined();
  });

  it("uses the installation CA, the upstream CA files and NODE_EXTRA_CA_CERTS", async () => {
    const home = temp();
    const upstream = (await generateCa()).certPem;
    const extra = (await generateCa()).certPem;
    const dir = temp();
    writeFileSync(join(dir, "up.pem"), upstream);
    writeFileSync(join(dir, "extra.pem"), extra);
    const spec = await buildTlsSpec({ network: { tls: { upstreamCaCert: join(dir, "up.pem") } } }, home, {
      NODE_EXTRA_CA_CERTS: join(dir, "extra.pem"),
    });
    expect(spec?.caKeyPath).toBe(installationCaPaths(home).key);
    expect(spec?.caCertPem).toMatch(/BEGIN CERTIFICATE/);
    expect(spec?.upstreamCaPems).toEqual([upstream, extra]);
    // Secrets alone turn interception on.
    expect(await buildTlsSpec({ secrets: [{}] }, home, {})).toMatchObject({ caCertPem: spec?.caCertPem });
  });

  it("uses the user's CA and rejects a missing upstream CA naming the field", async () => {
    const dir = temp();
    const ca = await generateCa();
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "ca.key"), ca.keyPem);
    const network = resolveTlsPaths({ tls: { caCert: "ca.pem", caKey: "ca.key" } }, dir);
    expect(network.tls?.caCert).toBe(join(dir, "ca.pem"));
    const spec = await buildTlsSpec({ network }, temp(), {});
    expect(spec).toMatchObject({ caCertPem: ca.certPem, caKeyPath: join(dir, "ca.key") });
    await expect(
      buildTlsSpec({ network: { tls: { upstreamCaCert: [join(dir, "nope.pem")] } } }, temp(), {}),
    ).rejects.toThrow(InvalidConfigError);
  });
});
