import { describe, expect, it } from "vitest";
import { hostTscKhz, parseCpuinfoKhz } from "./host.js";

describe("parseCpuinfoKhz", () => {
  it("takes the first cpu MHz line, in kHz", () => {
    const text =
      "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2095.998\n\nprocessor\t: 1\ncpu MHz\t\t: 1800.000\n";
    expect(parseCpuinfoKhz(text)).toBe(2095998);
  });

  it("is undefined without a usable line (arm64 cpuinfo)", () => {
    expect(parseCpuinfoKhz("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\n")).toBeUndefined();
    expect(parseCpuinfoKhz("cpu MHz\t\t: 0.000\n")).toBeUndefined();
  });

  it("reads this host without throwing", () => {
    const khz = hostTscKhz();
    expect(khz === undefined || (Number.isInteger(khz) && khz > 0)).toBe(true);
  });
});
