import { describe, expect, it } from "vitest";
import { fakeModule } from "./__fixtures__/elf.js";
import { buildElf } from "./__fixtures__/elf.js";
import {
  moduleNameOfFile,
  normaliseModuleName,
  parseModinfoSection,
  readModuleInfo,
  softdepPre,
} from "./modinfo.js";

describe("modinfo", () => {
  it("splits NUL-separated key=value strings, keeping repeated keys in order", () => {
    const fields = parseModinfoSection(Buffer.from("alias=a\0\0alias=b\0depends=x,y\0license=GPL\0\0\0"));
    expect(fields.get("alias")).toEqual(["a", "b"]);
    expect(fields.get("depends")).toEqual(["x,y"]);
    expect(fields.get("license")).toEqual(["GPL"]);
  });

  it("normalises '-' to '_' in module and file names", () => {
    expect(normaliseModuleName("virtio-rng")).toBe("virtio_rng");
    expect(moduleNameOfFile("virtio-rng.ko")).toBe("virtio_rng");
    expect(moduleNameOfFile("kvm-amd.ko.xz")).toBe("kvm_amd");
  });

  it("reads name, depends, softdep pre and vermagic from a module", () => {
    const ko = fakeModule(
      "license=GPL",
      "depends=virtio,virtio-ring",
      "softdep=pre: crc32c post: foo",
      "name=virtio_net",
      "vermagic=6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions ",
    );
    expect(readModuleInfo(ko, "virtio_net.ko")).toEqual({
      name: "virtio_net",
      depends: ["virtio", "virtio_ring"],
      softPre: ["crc32c"],
      vermagic: "6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions ",
    });
  });

  it("falls back to the file name and an empty dependency list", () => {
    const info = readModuleInfo(fakeModule("depends="), "virtio-rng.ko");
    expect(info.name).toBe("virtio_rng");
    expect(info.depends).toEqual([]);
    expect(info.softPre).toEqual([]);
  });

  it("parses softdep pre lists in any position", () => {
    expect(softdepPre("pre: a b-c")).toEqual(["a", "b_c"]);
    expect(softdepPre("post: x pre: y")).toEqual(["y"]);
    expect(softdepPre("post: x")).toEqual([]);
  });

  it("rejects files that are not modules", () => {
    const exe = buildElf({
      type: 2,
      machine: 62,
      sections: [{ name: ".text", type: 1, data: Buffer.alloc(4) }],
    });
    expect(() => readModuleInfo(exe, "prog")).toThrow(/not a kernel module/);
  });
});
