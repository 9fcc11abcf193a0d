/**
 * VM templates through `Sandbox.create()`: the first create of an image and shape saves a VM, later ones restore
 * it. Restored sandboxes must be their own machines (hostname, random state, clock, disk, network), templates
 * must be made consistently by concurrent creators, and a damaged, stale or failing template must never be
 * restored: the create boots cold and the template is made again. Traffic stays on loopback.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageService } from "../../src/image/image-service.js";
import { Mount, Sandbox } from "../../src/index.js";
import { msbPaths } from "../../src/config/paths.js";
import { listOwnedDirs } from "../../src/os/owned-dir.js";
import { sandboxPaths } from "../../src/sdk/context.js";
import { TemplateStore } from "../../src/templates/template-store.js";
import type { Template } from "../../src/templates/template-store.js";
import { sha256 } from "../../src/templates/template-store.js";
import { msb, startMsb } from "../fixtures/msb-cli.js";
import { freePort } from "../fixtures/registry/process.js";
import { fetchGuest } from "../fixtures/guest-http.js";
import { useTemplatesOn } from "../fixtures/templates-on.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
// These tests are about restoring a template; the warm spare VM, which would serve some creates here with a VM
// restored earlier (before a test damages the template, say), has its own tests (spare-vm.test.ts).
beforeAll(() => {
  process.env["MSB_SPARE_VM"] = "0";
});
afterAll(() => {
  delete process.env["MSB_SPARE_VM"];
});
const templates = (): TemplateStore => new TemplateStore(env().home);
const supervisorLog = (name: string): string =>
  readFileSync(sandboxPaths(env().home, name).supervisorLog, "utf8");
/** The one template there is (a test failure when there are none or several). */
function oneTemplate(): Template {
  const all = templates().list();
  const [first] = all;
  if (all.length !== 1 || first === undefined) throw new Error(`expected one template, found ${all.length}`);
  return first;
}
/**
 * Whether sandbox `name` was restored from a template, by its supervisor log; its "running" line must say the
 * same and split the VM's start into phases.
 */
function restored(name: string): boolean {
  const log = supervisorLog(name);
  const fromTemplate = log.includes('"restored from template"');
  const running = log
    .split("\n")
    .filter((line) => line.includes('"msg":"running"'))
    .map(
      (line) =>
        JSON.parse(line) as { fields: { restored: unknown; bootMs: number; phases: Record<string, number> } },
    )[0];
  expect(running?.fields.restored).toBe(fromTemplate);
  const phases = running?.fields.phases ?? {};
  expect(Object.keys(phases).sort()).toEqual(["agentMs", "qemuMs", "setupMs"]);
  expect(Math.min(...Object.values(phases))).toBeGreaterThanOrEqual(0);
  // Each rounded on its own: their sum may be off the rounded total by one.
  expect(
    Math.abs((phases["qemuMs"] ?? 0) + (phases["agentMs"] ?? 0) - (running?.fields.bootMs ?? -9)),
  ).toBeLessThanOrEqual(1);
  return fromTemplate;
}

/** What a guest says about itself right after create. */
async function identity(sandbox: Sandbox): Promise<Record<string, string>> {
  const out = await sandbox.shell(
    "hostname; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; " +
      "cat /proc/sys/kernel/random/uuid /proc/sys/kernel/random/boot_id; date +%s",
  );
  const [hostname = "", random = "", uuid = "", bootId = "", clock = ""] = out.stdout().trim().split("\n");
  return { hostname, random, uuid, bootId, clock };
}

/** GET http://127.0.0.1:port/, retried for up to 10 s while the guest server starts. */
async function get(port: number): Promise<string> {
  return await (await fetchGuest(port, "/")).text();
}

describe("VM templates", () => {
  useTemplatesOn();

  it("restores sandboxes that are their own machines: hostname, randomness, clock, disk and network", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    await using a = await Sandbox.create({
      name: "tpl-a",
      image: "alpine:latest",
      ports: { [portA]: 80 },
    });
    await using b = await Sandbox.create({
      name: "tpl-b",
      image: "alpine:latest",
      ports: { [portB]: 80 },
    });
    const [ia, ib] = [await identity(a), await identity(b)];
    expect(supervisorLog("tpl-a")).toContain('"template made"');
    expect([restored("tpl-a"), restored("tpl-b")]).toEqual([true, true]);
    expect(templates().list()).toHaveLength(1);

    expect([ia.hostname, ib.hostname]).toEqual(["tpl-a", "tpl-b"]);
    // The network set-up (loopback, the NIC's address and route) is the template's; its files are each sandbox's.
    for (const [sandbox, name] of [
      [a, "tpl-a"],
      [b, "tpl-b"],
    ] as const) {
      const out = await sandbox.shell(
        "cat /etc/hosts /etc/resolv.conf; (echo x >> /etc/hosts) 2>/dev/null || echo read-only; " +
          "ping -c 1 -W 5 10.0.2.2 >/dev/null && echo gateway-answers",
      );
      expect(out.stdout()).toContain(`127.0.1.1\t${name}\n`);
      expect(out.stdout()).toContain("nameserver 10.0.2.3\n");
      expect(out.stdout()).toContain("read-only\ngateway-answers\n");
    }
    for (const field of ["random", "uuid", "bootId"]) {
      expect(ia[field], field).toMatch(/^[0-9a-f-]{32,}$/);
      expect(ia[field], field).not.toBe(ib[field]);
    }
    const now = Date.now() / 1000;
    for (const { clock } of [ia, ib]) expect(Math.abs(Number(clock) - now)).toBeLessThan(10);

    // Disks: what one writes, neither the other nor a later sandbox of the same template sees.
    await a.shell("echo from-a > /root/mark && sync");
    expect((await b.shell("cat /root/mark 2>&1; ls /root")).stdout()).not.toContain("from-a");
    await using c = await Sandbox.create({ name: "tpl-c", image: "alpine:latest" });
    expect(restored("tpl-c")).toBe(true);
    expect((await c.shell("ls /root")).stdout()).not.toContain("mark");
    expect((await a.shell("cat /root/mark")).stdout()).toBe("from-a\n");

    // Networks: each answers on its own published port with its own name.
    for (const sandbox of [a, b]) {
      await sandbox.shell("mkdir -p /www && hostname > /www/index.html && httpd -p 80 -h /www");
    }
    expect([await get(portA), await get(portB)]).toEqual(["tpl-a\n", "tpl-b\n"]);
  });

  it("keeps a restored sandbox's disk across a stop and a (cold) start", async () => {
    await using d = await Sandbox.create({ name: "tpl-d", image: "alpine:latest" });
    expect(restored("tpl-d")).toBe(true);
    await d.shell("echo kept > /root/kept");
    await d.stop();
    await using again = await Sandbox.start("tpl-d");
    expect((await again.shell("cat /root/kept; hostname")).stdout()).toBe("kept\ntpl-d\n");
  });

  it("is made once, consistently, when another process creates the same image at the same time", async () => {
    for (const t of templates().list()) templates().remove(t.meta.key);
    const cli = startMsb(["create", "--name", "tpl-cli", "alpine:latest"]);
    const [sdk, run] = await Promise.all([
      Sandbox.create({ name: "tpl-sdk", image: "alpine:latest" }),
      cli.done,
    ]);
    await using sdkBox = sdk;
    expect(run.code, run.stderr).toBe(0);
    expect((await sdkBox.shell("hostname")).stdout()).toBe("tpl-sdk\n");
    expect([restored("tpl-sdk"), restored("tpl-cli")]).toEqual([true, true]);
    const made = oneTemplate();
    expect(templates().find(made.meta.key, made.meta.runtime)).toBeDefined();
    const scratch = readdirSync(msbPaths(env().home).tmpDir).filter((n) => n.startsWith("template"));
    expect(scratch).toEqual([]);
    // Nor the run directories the two builds' VMs had.
    const builds = (await listOwnedDirs(msbPaths(env().home).runRoot)).filter(
      (d) => d.owner.purpose === "template",
    );
    expect(builds).toEqual([]);
    await using cliBox = await (await Sandbox.get("tpl-cli")).connect();
    expect((await cliBox.shell("hostname")).stdout()).toBe("tpl-cli\n");
  });

  it("never restores a damaged or stale template: it is removed and made again", async () => {
    const template = oneTemplate();
    const state = readFileSync(template.statePath);
    const middle = state.length >> 1;
    state.writeUInt8(state.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(template.statePath, state);
    await using e = await Sandbox.create({ name: "tpl-e", image: "alpine:latest" });
    expect(supervisorLog("tpl-e")).toMatch(/"template invalid[^"]*".*checksum/);
    expect(supervisorLog("tpl-e")).toContain('"template made"');
    expect(restored("tpl-e")).toBe(true);

    // Made on another runtime (as after a QEMU upgrade or a kernel rebuild): pruned, never restored.
    const current = oneTemplate();
    const metaPath = join(current.dir, "meta.json");
    writeFileSync(metaPath, JSON.stringify({ ...current.meta, runtime: "another" }));
    await using f = await Sandbox.create({ name: "tpl-f", image: "alpine:latest" });
    expect(supervisorLog("tpl-f")).toContain('"stale template removed"');
    expect(restored("tpl-f")).toBe(true);
    expect((await f.shell("hostname")).stdout()).toBe("tpl-f\n");
    expect(
      templates()
        .list()
        .map((t) => t.meta.runtime),
    ).not.toContain("another");
    expect((await e.shell("echo ok")).stdout()).toBe("ok\n");
  });

  it("boots cold when restoring fails, and removes the template that failed", async () => {
    const template = oneTemplate();
    // A state file that passes the checksum (meta updated) but is no VM state: QEMU refuses to load it.
    const garbage = Buffer.from("QEVM\0\0\0\x03 not a migration stream");
    writeFileSync(template.statePath, garbage);
    writeFileSync(
      join(template.dir, "meta.json"),
      JSON.stringify({ ...template.meta, stateBytes: garbage.length, stateSha256: sha256(garbage) }),
    );
    await using g = await Sandbox.create({ name: "tpl-g", image: "alpine:latest" });
    expect(supervisorLog("tpl-g")).toContain('"template restore failed: template removed, booting cold"');
    expect(restored("tpl-g")).toBe(false);
    expect(existsSync(template.dir)).toBe(false);
    expect((await g.shell("hostname; ls /root")).stdout()).toBe("tpl-g\n");
  });

  it("boots cold for volumes and with MSB_TEMPLATES=0, and templates go with their image", async () => {
    await using h = await Sandbox.create({
      name: "tpl-h",
      image: "alpine:latest",
      volumes: { "/scratch": Mount.tmpfs({ sizeMib: 8 }) },
    });
    expect(restored("tpl-h")).toBe(false);
    expect((await h.shell("df -m /scratch | tail -1")).stdout()).toMatch(/tmpfs/);

    process.env["MSB_TEMPLATES"] = "0";
    try {
      for (const t of templates().list()) templates().remove(t.meta.key);
      await using i = await Sandbox.create({ name: "tpl-i", image: "alpine:latest" });
      expect(restored("tpl-i")).toBe(false);
      expect((await i.shell("hostname")).stdout()).toBe("tpl-i\n");
      expect(templates().list()).toEqual([]);
    } finally {
      process.env["MSB_TEMPLATES"] = "1";
    }

    await using j = await Sandbox.create({ name: "tpl-j", image: "alpine:latest" });
    expect(restored("tpl-j")).toBe(true);
    const listed = await msb("templates", "ls");
    expect(listed.stdout).toContain(oneTemplate().meta.key);
    expect(listed.stdout).toContain("1 cpu, 512 MiB");
    const bogus = await msb("templates", "rm", "0123abcd");
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain("no template 0123abcd");
    await j.stop();
    for (const info of await Sandbox.list()) {
      const handle = await Sandbox.get(info.name);
      await handle.kill();
      await handle.remove();
    }
    await using images = await ImageService.open();
    await images.remove("alpine:latest");
    expect(templates().list()).toEqual([]);
  });
});
