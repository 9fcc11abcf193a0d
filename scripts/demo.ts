/**
 * `npm run demo -- CMD...`: the README's first command. Starts a throwaway local OCI registry holding a
 * busybox image published as `alpine:latest` (this machine may have no route to Docker Hub), points
 * `msb` at it as a Docker Hub mirror, and runs `msb run --rm alpine:latest -- CMD` in a real microVM.
 * On a machine with registry access, `npx msb run python:3.12 -- python3 -c 'print(1 + 1)'` needs none of this.
 */
import { spawnSync } from "node:child_process";
import { startRegistry } from "../test/fixtures/registry/registry-server.js";
import { seedRegistry } from "../test/fixtures/registry/seed.js";

const argv = process.argv.slice(2);
const command = argv.length > 0 ? argv : ["uname", "-a"];
await using registry = await startRegistry();
await seedRegistry(registry.url, { only: ["library/alpine:latest"] });
const started = performance.now();
const result = spawnSync(
  process.execPath,
  ["dist/cli/msb.js", "run", "--rm", "alpine:latest", "--", ...command],
  {
    stdio: "inherit",
    env: { ...process.env, MSB_REGISTRY_MIRRORS: registry.url, MSB_REGISTRY_MIRRORS_ONLY: "1" },
  },
);
process.stderr.write(`(msb run: pull + boot + exec + stop: ${Math.round(performance.now() - started)} ms)\n`);
process.exitCode = result.status ?? 1;
