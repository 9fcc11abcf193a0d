/**
 * The launcher's executable (`dist/launcher.cjs`): a small process a creating process starts once, on its IPC
 * channel, to spawn its spare supervisors (see `spawn-request.ts`), and which exits when that process is gone.
 */
import { serveSpawnRequests } from "./spawn-request.js";

serveSpawnRequests();
