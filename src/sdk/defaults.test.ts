import { describe, expect, it } from "vitest";
import type { ImageConfig } from "../image/image-config.js";
import { DEFAULT_PATH, execDefaults, SCRIPTS_DIR } from "./defaults.js";
import { LOCAL_IMAGE_CONFIG } from "./local-image-config.js";

const image: ImageConfig = { ...LOCAL_IMAGE_CONFIG, env: ["PATH=/opt/bin:/bin", "A=1"] };

describe("execDefaults and scripts", () => {
  it("puts /.msb/scripts last on PATH when there are scripts", () => {
    const withScripts = execDefaults({ name: "a", image: "b", scripts: { x: "" } }, image);
    expect(withScripts.env["PATH"]).toBe(`/opt/bin:/bin:${SCRIPTS_DIR}`);
    expect(withScripts.env["A"]).toBe("1");
    const noPath = execDefaults({ name: "a", image: "b", scripts: { x: "" } }, { ...image, env: [] });
    expect(noPath.env["PATH"]).toBe(`${DEFAULT_PATH}:${SCRIPTS_DIR}`);
  });

  it("leaves PATH alone without scripts", () => {
    expect(execDefaults({ name: "a", image: "b" }, image).env["PATH"]).toBe("/opt/bin:/bin");
    expect(execDefaults({ name: "a", image: "b", scripts: {} }, image).env["PATH"]).toBe("/opt/bin:/bin");
  });

  it("gives a local root a usable PATH", () => {
    expect(execDefaults({ name: "a", image: "/root" }, LOCAL_IMAGE_CONFIG).env["PATH"]).toBe(DEFAULT_PATH);
  });
});
