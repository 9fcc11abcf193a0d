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
    // The supervisor has its own entry point so it does not load the CLI (it starts on every create).
    entry: { "cli/msb": "src/cli/msb.ts", supervisor: "src/supervisor/bin.ts" },
    format: ["esm"],
    sourcemap: true,
    target: "node18",
    banner: { js: "#!/usr/bin/env node" },
  },
]);
