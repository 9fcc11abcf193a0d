import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirs } from "../os/temp-dirs.fixture.js";
import { templateKey } from "./template-key.js";

const dir = tempDirs("msb-tkey-")();

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe("templateKey", () => {
  const kernel = file("vmlinux", "kernel");
  const qemu = file("qemu", "qemu");
  const network = JSON.stringify({ interface: { mac: "52:54:00:12:34:56", address: "10.0.2.15" } });
  const inputs = { imageDigest: "sha256:aa", argv: ["-m", "512M"], network, files: [kernel, qemu] };

  it("is stable for the same inputs", () => {
    expect(templateKey(inputs)).toEqual(templateKey(inputs));
    expect(templateKey(inputs).key).toMatch(/^[0-9a-f]{32}$/);
  });

  it("changes with the image, the VM's shape and its network, not the runtime identity", () => {
    const base = templateKey(inputs);
    const otherImage = templateKey({ ...inputs, imageDigest: "sha256:bb" });
    const otherShape = templateKey({ ...inputs, argv: ["-m", "1024M"] });
    const otherNetwork = templateKey({ ...inputs, network: JSON.stringify({ interface: null }) });
    expect(otherImage.key).not.toBe(base.key);
    expect(otherShape.key).not.toBe(base.key);
    expect(otherNetwork.key).not.toBe(base.key);
    expect(otherImage.runtime).toBe(base.runtime);
  });

  it("changes when a runtime file is rebuilt or replaced (a stale template is never found)", () => {
    const before = templateKey(inputs);
    writeFileSync(kernel, "kernel, rebuilt");
    const rewritten = templateKey(inputs);
    expect(rewritten.runtime).not.toBe(before.runtime);
    expect(rewritten.key).not.toBe(before.key);
    utimesSync(qemu, new Date(1_000_000), new Date(1_000_000));
    expect(templateKey(inputs).runtime).not.toBe(rewritten.runtime);
  });

  it("fails when a runtime file is missing", () => {
    expect(() => templateKey({ ...inputs, files: [join(dir, "missing")] })).toThrow(/ENOENT/);
  });
});
