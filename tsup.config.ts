import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node18",
    shims: true,
  },
  {
    entry: { "cli/msb": "src/cli/msb.ts" },
    format: ["esm"],
    sourcemap: true,
    target: "node18",
    banner: { js: "#!/usr/bin/env node" },
  },
]);
