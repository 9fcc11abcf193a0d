/**
 * `npm run demo -- CMD...`: boots a microVM on a busybox root disk (built from the host's busybox-static on
 * first use) and runs CMD in it, printing boot and exec times. Until OCI images land, this is the quickest way
 * to see a sandbox work.
 */
import { spawnSync } from "node:child_process";
import { busyboxRootfs } from "../test/fixtures/busybox-rootfs.js";

const argv = process.argv.slice(2);
const command = argv.length > 0 ? argv : ["uname", "-a"];
const disk = busyboxRootfs();
const started = performance.now();
const result = spawnSync(process.execPath, ["dist/cli/msb.js", "vm-run", "--disk", disk, "--", ...command], {
  stdio: "inherit",
});
process.stderr.write(`(boot + exec + shutdown: ${Math.round(performance.now() - started)} ms)\n`);
process.exitCode = result.status ?? 1;
