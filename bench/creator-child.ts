/**
 * Child of the creator-size benchmark (`creator.ts`): holds `MiB` of touched memory, then creates sandboxes one
 * after another from the built package (templates and spares on) and prints, as one JSON line, each create's time
 * to its first `shell("true")` result and the longest stall of its event loop meanwhile. Arguments: MiB, creates.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Sandbox } from "../dist/index.js";

const [mib = 0, creates = 8] = process.argv.slice(2).map(Number);
const ballast: Buffer[] = [];
for (let i = 0; i < mib; i++) ballast.push(Buffer.alloc(1 << 20, 1));
const loop = monitorEventLoopDelay({ resolution: 1 });
const times: number[] = [];
for (let i = 0; i < creates; i++) {
  if (i === 2) loop.enable(); // from the third create on: a spare supervisor and VM wait for each
  const started = performance.now();
  const sandbox = await Sandbox.create({ name: `creator-${i}`, image: "alpine:latest", replace: true });
  await sandbox.shell("true");
  if (i >= 2) times.push(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, 500)); // the spare warms its VM
  await sandbox.stopAndWait();
  await Sandbox.remove(`creator-${i}`);
}
loop.disable();
process.stdout.write(
  JSON.stringify({
    times,
    maxStallMs: loop.max / 1e6,
    rssMib: process.memoryUsage().rss / 2 ** 20,
    held: ballast.length,
  }) + "\n",
);
