/**
 * A deep `MSB_HOME`: every unix socket a VM has (QEMU's, the link's, the supervisor's) must fit in 107 bytes. A
 * sandbox's run directory is `<home>/run/<12 hex>`; the VMs that are not a sandbox's (a template being made, a
 * warm spare) run in directories as short, so a home that a sandbox can use gets templates and warm spares too,
 * not cold boots. The home here is the longest a sandbox's `control.sock` allows; a longer one is refused up front.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { msbPaths } from "../../src/config/paths.js";
import { InvalidConfigError } from "../../src/errors.js";
import { MAX_SOCKET_PATH, RUN_DIR_NAME_CHARS } from "../../src/os/socket-path.js";
import { Sandbox } from "../../src/sdk/sandbox.js";
import { CONTROL_SOCKET } from "../../src/supervisor/spec.js";
import { waitForWarmSpareVm } from "../fixtures/spare-vm-dirs.js";
import { useTemplatesOn } from "../fixtures/templates-on.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

/** The longest socket path (107 bytes), less `/run/`, a run directory's name and `/control.sock`: 77 bytes. */
const HOME_BYTES = MAX_SOCKET_PATH - "/run/".length - RUN_DIR_NAME_CHARS - `/${CONTROL_SOCKET}`.length;

const env = useSandboxEnv({ homeBytes: HOME_BYTES });
// Templates and spare VMs are the point.
useTemplatesOn();

function supervisorLog(name: string): string {
  return readFileSync(join(env().home, "sandboxes", name, "logs", "supervisor.log"), "utf8");
}

describe("a deep MSB_HOME", () => {
  it("makes templates, restores them and takes warm spare VMs, as a short one does", async () => {
    expect(Buffer.byteLength(env().home)).toBe(HOME_BYTES);
    for (const name of ["deep-a", "deep-b"]) {
      const sandbox = await Sandbox.create({ name, image: "alpine:latest" });
      expect((await sandbox.shell("hostname")).stdout()).toBe(`${name}\n`);
      await sandbox.stopAndWait();
      expect(supervisorLog(name)).not.toContain("booting cold");
      expect(supervisorLog(name)).toMatch(/"restored":true/);
    }
    // The second create's spare supervisor warms a VM of this shape in a run directory of its own.
    await waitForWarmSpareVm(msbPaths(env().home).runRoot, { settleMs: 1_500 });
    await using third = await Sandbox.create({ name: "deep-c", image: "alpine:latest" });
    expect(supervisorLog("deep-c")).toContain("took the warm spare VM");
    expect((await third.shell("hostname")).stdout()).toBe("deep-c\n");
  });

  it("one byte longer is refused before anything is made, naming MSB_HOME and the longest it may be", async () => {
    const home = `${env().home}x`;
    const saved = process.env["MSB_HOME"];
    process.env["MSB_HOME"] = home;
    try {
      const err: unknown = await Sandbox.create({ name: "too-deep", image: "alpine:latest" }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect(err).toMatchObject({ code: "MSB_ERR_INVALID_CONFIG", field: "MSB_HOME" });
      expect((err as InvalidConfigError).hint).toContain(`at most ${HOME_BYTES} bytes`);
      expect(existsSync(join(home, "sandboxes", "too-deep"))).toBe(false);
      expect(existsSync(join(home, "run"))).toBe(false);
    } finally {
      process.env["MSB_HOME"] = saved;
    }
  });
});
