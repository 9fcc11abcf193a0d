/**
 * The supervisor's own executable (`dist/supervisor.cjs`): reads its spec as JSON on stdin, reports readiness as
 * one JSON line on stdout, and in attached mode watches the owner pipe on fd 3. It loads only what a
 * supervisor needs (no CLI parser, no image puller), because its start-up is on the path of every
 * `Sandbox.create()`. `msb __supervise` runs the same code.
 */
import { superviseFromStdio } from "./stdio.js";

// No top-level await: the executable is built as CommonJS (see tsup.config.ts).
void superviseFromStdio().then((code) => process.exit(code));
