import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { VmError } from "../errors.js";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { QemuProcess } from "./qemu-process.js";

describe("QemuProcess", () => {
  let dir: string;
  const makeDir = tempDirs("msb-qemu-process-", { after: "each" });
  beforeEach(() => {
    dir = makeDir();
  });

  /** A stand-in QEMU running `script`. */
  const start = (script: string): Promise<QemuProcess> => {
    const binary = join(dir, "qemu");
    writeFileSync(binary, `#!/bin/sh\n${script}\n`);
    chmodSync(binary, 0o755);
    return QemuProcess.start({ binary, argv: [], consoleLog: join(dir, "console.log"), qmpSocket: "unused" });
  };

  it("kills a QEMU whose guest KVM stopped for good, and says so, instead of waiting on a dead VM", async () => {
    // What QEMU does then: dump the registers, stop the VM in the internal-error state, and stay up.
    const qemu = await start(
      'echo "Linux version 6.1"; printf "KVM internal error. Suberror: 1\\nextra data[0]: 0x1\\nRAX=0\\n" >&2; exec sleep 60',
    );
    const started = Date.now();
    const exit = await qemu.exited;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(exit.signal).toBe("SIGKILL");
    expect(exit.kvmFailure).toBe("KVM internal error. Suberror: 1");
    const error = qemu.exitError("the VM exited during boot");
    expect(error).toBeInstanceOf(VmError);
    expect(error.code).toBe("MSB_ERR_VM_EXITED");
    expect(error.message).toMatch(
      /^the VM exited during boot: KVM stopped the guest \(KVM internal error\. Suberror: 1\)/,
    );
    expect(error.hint).toMatch(/MSB_ACCEL=tcg/);
    expect(error.qemuStderr).toMatch(/RAX=0/);
  });

  it("reports an ordinary exit in QEMU's own words", async () => {
    const qemu = await start('echo "qemu: cannot allocate memory" >&2; exit 1');
    const exit = await qemu.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.kvmFailure).toBeUndefined();
    expect(qemu.exitError("boot").message).toMatch(
      /^boot: QEMU exited with code 1: qemu: cannot allocate memory/,
    );
  });
});
