/**
 * Rootfs patches, scripts and local roots against real VMs: every patch kind (and the seed README's example
 * verbatim), applied once (a restart keeps what the guest changed), `/etc/hosts` patched through the network
 * set-up's generated file at every boot, scripts on PATH for exec and the main process, a failing patch that
 * leaves nothing behind, a create that never finished (a fresh disk, patched once), a local directory root and a
 * local qcow2 root (never written), and the refusals.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ImageNotFoundError, InvalidConfigError, Patch, PatchFailedError, Sandbox } from "../../src/index.js";
import { sandboxPaths } from "../../src/sdk/context.js";
import { qemuOf } from "../../src/store/sandbox-repository.js";
import { busyboxRootfs, stage } from "../fixtures/busybox-rootfs.js";
import { useSandboxEnv } from "../fixtures/use-sandbox-env.js";

const env = useSandboxEnv();
const host = mkdtempSync(join(tmpdir(), "msb-patches-test-"));
afterAll(() => {
  rmSync(host, { recursive: true, force: true });
});

/** Runs `fn` with the process's working directory at `dir` (host sources are relative to it). */
async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(saved);
  }
}

async function sh(box: Sandbox, script: string): Promise<string> {
  const out = await box.exec("sh", ["-c", script]);
  expect(out.stderr(), script).toBe("");
  expect(out.code, script).toBe(0);
  return out.stdout();
}

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describe("patches and scripts", () => {
  it("applies every kind once, before anything runs; /etc/hosts at every boot; scripts on PATH", async () => {
    const project = join(host, "project");
    mkdirSync(join(project, "scripts", "sub"), { recursive: true });
    writeFileSync(join(project, "scripts", "run.sh"), "#!/bin/sh\necho run\n", { mode: 0o755 });
    writeFileSync(join(project, "scripts", "sub", "data.txt"), "data\n", { mode: 0o640 });
    symlinkSync("run.sh", join(project, "scripts", "link"));
    writeFileSync(join(project, "tool.bin"), "binary-ish\n", { mode: 0o750 });
    const box = await inDir(project, () =>
      Sandbox.create({
        name: "patched",
        image: "alpine:latest",
        patches: [
          // The seed README's example, verbatim.
          Patch.text("/etc/greeting.txt", "Hello!\n"),
          Patch.mkdir("/app", { mode: 0o755 }),
          Patch.text("/app/config.json", '{"debug": true}', { mode: 0o644 }),
          Patch.copyDir("./scripts", "/app/scripts"),
          Patch.append("/etc/hosts", "127.0.0.1 myapp.local\n"),
          // Every other kind and option.
          Patch.text("/etc/secret.conf", "s3cret\n", { mode: 0o600 }),
          Patch.text("/etc/group", "root:x:0:\nwheel:x:10:\n", { replace: true }),
          Patch.mkdir("/srv/deep/er", { mode: 0o700 }),
          Patch.copyFile("./tool.bin", "/usr/local/bin/tool"),
          Patch.copyFile("tool.bin", "/opt/tool-0644", { mode: 0o644 }),
          Patch.symlink("/etc/greeting.txt", "/etc/greeting.link"),
          Patch.symlink("/bin/busybox", "/bin/cat", { replace: true }),
          Patch.remove("/bin/vi"),
          Patch.remove("/no/such/path"),
          Patch.append("/etc/greeting.txt", "again\n"),
        ],
        scripts: { hello: '#!/bin/sh\necho hello from a script "$@"\n' },
        // The main process uses the script and sees the patches: both are in place before it starts.
        entrypoint: [
          "sh",
          "-c",
          "hello main > /tmp/main.out; cat /etc/greeting.txt >> /tmp/main.out; sleep 100000",
        ],
      }),
    );
    try {
      expect(await sh(box, "cat /etc/greeting.txt")).toBe("Hello!\nagain\n");
      expect(await sh(box, "cat /app/config.json")).toBe('{"debug": true}');
      expect(await sh(box, "stat -c '%a %U' /app /app/config.json /etc/secret.conf /srv/deep/er")).toBe(
        "755 root\n644 root\n600 root\n700 root\n",
      );
      expect(
        await sh(box, "cat /app/scripts/sub/data.txt; /app/scripts/run.sh; readlink /app/scripts/link"),
      ).toBe("data\nrun\nrun.sh\n");
      expect(await sh(box, "stat -c '%a %u' /app/scripts/run.sh /app/scripts/sub/data.txt")).toBe(
        "755 0\n640 0\n",
      );
      expect(await sh(box, "grep myapp.local /etc/hosts; grep -c localhost /etc/hosts")).toBe(
        "127.0.0.1 myapp.local\n2\n",
      );
      expect(await sh(box, "cat /etc/group")).toBe("root:x:0:\nwheel:x:10:\n");
      expect(await sh(box, "cat /usr/local/bin/tool; stat -c %a /usr/local/bin/tool /opt/tool-0644")).toBe(
        "binary-ish\n750\n644\n",
      );
      expect(
        await sh(box, "readlink /etc/greeting.link; readlink /bin/cat; test -e /bin/vi || echo gone"),
      ).toBe("/etc/greeting.txt\n/bin/busybox\ngone\n");
      expect(await sh(box, "hello exec; stat -c %a /.msb/scripts/hello")).toBe(
        "hello from a script exec\n755\n",
      );
      await expect
        .poll(() => box.exec("cat", ["/tmp/main.out"]).then((o) => o.stdout()))
        .toBe("hello from a script main\nHello!\nagain\n");
      // Host sources are stored absolute.
      const stored = JSON.parse((await Sandbox.get("patched")).configJson) as { patches: { src?: string }[] };
      expect(stored.patches[3]?.src).toBe(join(project, "scripts"));
      // Recorded on the host, beside the disk.
      expect(existsSync(join(env().home, "sandboxes", "patched", "patched"))).toBe(true);
      // The guest changes patched files; a restart must not apply the patches again.
      await sh(box, "echo changed > /etc/greeting.txt; rm /etc/secret.conf; rm /.msb/scripts/hello");
    } finally {
      await box.stopAndWait();
    }
    const again = await Sandbox.start("patched");
    try {
      expect(await sh(again, "cat /etc/greeting.txt; test -e /etc/secret.conf || echo not-again")).toBe(
        "changed\nnot-again\n",
      );
      // Generated at every boot: the /etc/hosts patch shows again; scripts are written at every boot.
      expect(await sh(again, "grep myapp.local /etc/hosts; hello again")).toBe(
        "127.0.0.1 myapp.local\nhello from a script again\n",
      );
    } finally {
      await again.stopAndWait();
    }
    await Sandbox.remove("patched");
  });

  it("patches survive a VM killed right after its create (the root is flushed before the marker)", async () => {
    const tree = join(host, "durable-tree");
    mkdirSync(join(tree, "sub"), { recursive: true });
    writeFileSync(join(tree, "sub", "data.txt"), "copied\n");
    // The last patches are the ones nothing else syncs: a directory and a tree written as an archive.
    const box = await Sandbox.create({
      name: "durable",
      image: "alpine:latest",
      patches: [
        Patch.text("/etc/first.txt", "first\n"),
        Patch.mkdir("/srv/made/deep"),
        Patch.copyDir(tree, "/srv/tree"),
      ],
    });
    const qemu = qemuOf((await Sandbox.get("durable")).record);
    if (qemu === undefined) throw new Error("no QEMU recorded");
    process.kill(qemu.pid, "SIGKILL");
    expect((await box.wait()).code).toBe(1);
    expect((await Sandbox.get("durable")).status).toBe("crashed");
    const again = await Sandbox.start("durable");
    try {
      expect(
        await sh(again, "cat /etc/first.txt; test -d /srv/made/deep && echo dir; cat /srv/tree/sub/data.txt"),
      ).toBe("first\ndir\ncopied\n");
    } finally {
      await again.stopAndWait();
    }
    await Sandbox.remove("durable");
  });

  it("a create that never finished preparing its disk: the next start makes a fresh one and patches it once", async () => {
    const box = await Sandbox.create({
      name: "unfinished",
      image: "alpine:latest",
      patches: [Patch.append("/etc/appended.txt", "# appended once\n")],
    });
    await sh(box, "echo written > /etc/after-create");
    await box.stopAndWait();
    const paths = sandboxPaths(env().home, "unfinished");
    // What a creator dying halfway through the patches leaves: a disk patched in part, and no marker.
    rmSync(paths.patchMarker);
    const patchedTwice = await Sandbox.start("unfinished");
    try {
      expect(
        await sh(
          patchedTwice,
          "grep -c 'appended once' /etc/appended.txt; test -e /etc/after-create && echo kept || true",
        ),
      ).toBe("1\n");
    } finally {
      await patchedTwice.stopAndWait();
    }
    // What a creator dying before its supervisor made the disk leaves: no disk.
    rmSync(paths.rootDisk);
    const noDisk = await Sandbox.start("unfinished");
    try {
      expect(await sh(noDisk, "grep -c 'appended once' /etc/appended.txt")).toBe("1\n");
    } finally {
      await noDisk.stopAndWait();
    }
    await Sandbox.remove("unfinished");
  });

  it("a failing patch is a PatchFailedError naming it, and the create leaves nothing", async () => {
    const err = await Sandbox.create({
      name: "bad-patch",
      image: "alpine:latest",
      patches: [Patch.mkdir("/fine"), Patch.text("/etc/passwd", "root::0:0::/:/bin/sh\n")],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PatchFailedError);
    const failed = err as PatchFailedError;
    expect([failed.code, failed.index, failed.kind, failed.path]).toEqual([
      "MSB_ERR_PATCH_FAILED",
      1,
      "text",
      "/etc/passwd",
    ]);
    expect(failed.message).toMatch(/already exists/);
    expect((await Sandbox.list()).map((s) => s.name)).not.toContain("bad-patch");
    expect(existsSync(join(env().home, "sandboxes", "bad-patch", "root.qcow2"))).toBe(false);
  });

  it("refuses bad patches and scripts at create, naming the field, before anything boots", async () => {
    const cases: [object, string][] = [
      [{ patches: [Patch.copyFile("./no-such-file", "/x")] }, "patches[0].src"],
      [{ patches: [Patch.text("/a", "a"), Patch.text("relative", "x")] }, "patches[1].path"],
      [{ patches: [Patch.copyDir(host, "/etc/hosts")] }, "patches[0].dst"],
      [{ patches: [Patch.text("/etc/hosts", "x")] }, "patches[0].replace"],
      [{ patches: [{ kind: "mkdir", path: "/a", content: "x" }] }, "patches[0].content"],
      [{ scripts: { "a/b": "x" } }, "scripts.a/b"],
    ];
    for (const [extra, field] of cases) {
      const err = await Sandbox.create({ name: "refused", image: "alpine:latest", ...extra }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(InvalidConfigError);
      expect((err as InvalidConfigError).field).toBe(field);
    }
    expect((await Sandbox.list()).map((s) => s.name)).not.toContain("refused");
  });
});

describe("local roots", () => {
  it("boots a local directory (relative to the cwd) and a local qcow2 (never written)", async () => {
    const tree = join(host, "roots", "tree");
    mkdirSync(tree, { recursive: true });
    stage(tree);
    writeFileSync(join(tree, "etc", "from-dir"), "tree\n");
    const dirBox = await inDir(join(host, "roots"), () =>
      Sandbox.create({
        name: "local-dir",
        image: "./tree",
        scripts: { where: "#!/bin/sh\necho local\n" },
        patches: [Patch.text("/etc/patched", "yes\n")],
      }),
    );
    try {
      expect(await sh(dirBox, "cat /etc/from-dir /etc/hostname /etc/patched; where; echo $PATH")).toBe(
        "tree\nfixture\nyes\nlocal\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/.msb/scripts\n",
      );
      const listed = (await Sandbox.list()).find((s) => s.name === "local-dir");
      expect(listed?.image).toBe(tree);
    } finally {
      await dirBox.stopAndWait();
      await Sandbox.remove("local-dir");
    }

    const qcow2 = join(host, "roots", "root.qcow2");
    execFileSync("qemu-img", ["convert", "-O", "qcow2", busyboxRootfs(), qcow2]);
    const before = sha(qcow2);
    const diskBox = await Sandbox.create({ name: "local-qcow2", image: qcow2 });
    try {
      expect(await sh(diskBox, "cat /etc/hostname; echo written > /etc/new; sync; cat /etc/new")).toBe(
        "fixture\nwritten\n",
      );
    } finally {
      await diskBox.stopAndWait();
    }
    expect(sha(qcow2)).toBe(before);
    const restarted = await Sandbox.start("local-qcow2");
    try {
      expect(await sh(restarted, "cat /etc/new")).toBe("written\n");
    } finally {
      await restarted.stopAndWait();
      await Sandbox.remove("local-qcow2");
    }
    expect(sha(qcow2)).toBe(before);
  });

  it("refuses a missing path, a qcow2 with a backing file, and a disk without ext4", async () => {
    const missing = await Sandbox.create({ name: "nope", image: "./no/such/root" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(ImageNotFoundError);
    expect((missing as ImageNotFoundError).reference).toBe(join(process.cwd(), "no/such/root"));

    const child = join(host, "child.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", busyboxRootfs(), child]);
    const backed = await Sandbox.create({ name: "backed", image: child }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(backed).toBeInstanceOf(InvalidConfigError);
    expect((backed as InvalidConfigError).message).toMatch(/backing file/);

    const blank = join(host, "blank.raw");
    writeFileSync(blank, Buffer.alloc(4 * 1024 * 1024));
    const notExt4 = await Sandbox.create({ name: "blank", image: blank }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(notExt4).toBeInstanceOf(InvalidConfigError);
    expect((notExt4 as InvalidConfigError).message).toMatch(/ext4/);
    // The format is probed, not taken from the name: a raw disk named .qcow2 and a qcow2 named .raw are refused.
    const fakeQcow2 = join(host, "fake.qcow2");
    execFileSync("cp", ["--sparse=always", busyboxRootfs(), fakeQcow2]);
    const fakeRaw = join(host, "fake.raw");
    execFileSync("qemu-img", ["convert", "-O", "qcow2", busyboxRootfs(), fakeRaw]);
    for (const [image, found] of [
      [fakeQcow2, "raw"],
      [fakeRaw, "qcow2"],
    ] as const) {
      const misnamed = await Sandbox.create({ name: "misnamed", image }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(misnamed).toBeInstanceOf(InvalidConfigError);
      expect((misnamed as InvalidConfigError).message).toContain(`is a ${found} disk`);
    }
    const names = (await Sandbox.list()).map((s) => s.name);
    for (const name of ["nope", "backed", "blank", "misnamed"]) expect(names).not.toContain(name);
  });
});
