import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SetupError } from "../errors.js";
import { assertFragmentApplied, lostOptions, parseKconfig } from "./kernel-config.js";
import { findPackageRoot } from "./package-root.js";

describe("parseKconfig", () => {
  it("reads set and unset options and ignores other lines", () => {
    const options = parseKconfig(
      ["# comment", "CONFIG_A=y", "", "# CONFIG_B is not set", 'CONFIG_C="x y"', "CONFIG_D=64"].join("\n"),
    );
    expect([...options]).toEqual([
      ["CONFIG_A", "y"],
      ["CONFIG_B", "n"],
      ["CONFIG_C", '"x y"'],
      ["CONFIG_D", "64"],
    ]);
  });

  it("rejects an option set twice with different values", () => {
    expect(() => parseKconfig("CONFIG_A=y\n# CONFIG_A is not set\n")).toThrow(SetupError);
  });
});

describe("lostOptions", () => {
  it("reports options whose value changed or that disappeared; absent counts as not set", () => {
    const fragment = parseKconfig("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=100\n");
    const config = parseKconfig("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=250\n");
    expect(lostOptions(fragment, config)).toEqual([
      { name: "CONFIG_B", wanted: "y", got: "n" },
      { name: "CONFIG_D", wanted: "100", got: "250" },
    ]);
  });
});

describe("assertFragmentApplied", () => {
  it("passes when every option survived and names every lost one otherwise", () => {
    expect(() => {
      assertFragmentApplied("CONFIG_A=y\n", "CONFIG_A=y\nCONFIG_B=y\n");
    }).not.toThrow();
    expect(() => {
      assertFragmentApplied("CONFIG_A=y\nCONFIG_B=y\n", "CONFIG_A=m\n");
    }).toThrow(/CONFIG_A \(wanted y, got m\), CONFIG_B \(wanted y, got n\)/);
  });

  it("the repository's fragment parses, builds in virtio-mmio and leaves modules and PCI out", () => {
    const fragment = parseKconfig(readFileSync(join(findPackageRoot(), "kernel", "microvm.config"), "utf8"));
    expect(fragment.get("CONFIG_VIRTIO_MMIO")).toBe("y");
    expect(fragment.get("CONFIG_PVH")).toBe("y");
    expect(fragment.get("CONFIG_MODULES")).toBe("n");
    expect(fragment.get("CONFIG_PCI")).toBe("n");
  });
});
