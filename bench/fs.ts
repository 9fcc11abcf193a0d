/**
 * File transfer benchmarks: a file of MSB_BENCH_FS_MIB MiB (default 1024) host → guest and guest → host through
 * `sandbox.fs()` (SDK → supervisor → agent), against the same file operations on the raw agent channel (a
 * MicroVm's own connection, no supervisor) and against `docker cp`-style `exec cat` piping, in the same run.
 * Files go to the guest's /tmp (a tmpfs: the figures are the transport's, not a disk's).
 */
import { rmSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Sandbox } from "../dist/index.js";
import { OperationReadable, OperationWritable } from "../src/agent-client/operation-streams.js";
import { AgentError } from "../src/errors.js";
import { sandboxEnv } from "../test/fixtures/sandbox-env.js";
import { bootBusyboxVm, vmRunDir } from "../test/fixtures/vm-boot.js";
import type { BenchResult } from "./result.js";
import { throughputMBps } from "./result.js";

const MIB = Number(process.env["MSB_BENCH_FS_MIB"] ?? 1024);
const BYTES = MIB * 1024 * 1024;

function* blocks(): Generator<Buffer> {
  const block = Buffer.alloc(1024 * 1024, 0x5a);
  for (let i = 0; i < MIB; i++) yield block;
}

/** A sink that counts bytes. */
function counter(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      sink.bytes += chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

const mbps = (run: () => Promise<number>): Promise<number> => throughputMBps(BYTES, run);

const toError = (m: { code: string; message: string }): Error => new AgentError(m.code, m.message);

/** Runs the file transfer benchmarks. */
export async function benchFs(): Promise<BenchResult[]> {
  await using env = await sandboxEnv();
  const sandbox = await Sandbox.create({ name: "fs-bench", image: "alpine:latest", memoryMib: 3072 });
  const runDir = vmRunDir("bench-fs-raw");
  const raw = await bootBusyboxVm(runDir, { memoryMib: 3072 });
  try {
    const fs = sandbox.fs();
    const up = {
      fs: await mbps(async () => {
        await pipeline(Readable.from(blocks()), fs.writeStream("/tmp/up.bin"));
        return (await fs.stat("/tmp/up.bin")).size;
      }),
      raw: await mbps(async () => {
        await pipeline(
          Readable.from(blocks()),
          new OperationWritable(raw.agent, { type: "fs.write", path: "/tmp/up.bin" }, toError),
        );
        return BYTES;
      }),
      cat: await mbps(async () => {
        await fs.remove("/tmp/up.bin"); // /tmp holds one copy, not two; cat writes it again
        const handle = await sandbox.execStream("sh", ["-c", "cat > /tmp/up.bin"], { stdin: "pipe" });
        const stdin = await handle.takeStdin();
        for (const block of blocks()) await stdin?.write(block);
        await stdin?.close();
        await handle.wait();
        return (await fs.stat("/tmp/up.bin")).size;
      }),
    };
    const down = {
      fs: await mbps(async () => {
        const sink = counter();
        await pipeline(fs.readStream("/tmp/up.bin"), sink);
        return sink.bytes;
      }),
      raw: await mbps(async () => {
        const sink = counter();
        await pipeline(
          new OperationReadable(raw.agent, { type: "fs.read", path: "/tmp/up.bin" }, toError),
          sink,
        );
        return sink.bytes;
      }),
      cat: await mbps(async () => {
        let bytes = 0;
        for await (const event of await sandbox.execStream("cat", ["/tmp/up.bin"])) {
          if (event.eventType === "stdout") bytes += event.data.length;
        }
        return bytes;
      }),
    };
    const note = `${MIB} MiB to/from the guest's /tmp; one run each; higher is better; home ${env.home}`;
    return [
      {
        name: "fs.host-to-guest-vs-raw-agent",
        value: up.fs,
        unit: "MB/s",
        baseline: up.raw,
        ratio: up.fs / up.raw,
        note,
      },
      {
        name: "fs.host-to-guest-vs-exec-cat",
        value: up.fs,
        unit: "MB/s",
        baseline: up.cat,
        ratio: up.fs / up.cat,
      },
      {
        name: "fs.guest-to-host-vs-raw-agent",
        value: down.fs,
        unit: "MB/s",
        baseline: down.raw,
        ratio: down.fs / down.raw,
      },
      {
        name: "fs.guest-to-host-vs-exec-cat",
        value: down.fs,
        unit: "MB/s",
        baseline: down.cat,
        ratio: down.fs / down.cat,
      },
    ];
  } finally {
    await raw.shutdown();
    rmSync(runDir, { recursive: true, force: true });
    await sandbox.stopAndWait();
  }
}
