/** Test helper: fresh temporary directories for a unit-test file, removed by a vitest hook. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";

/**
 * Fresh temporary directories for one test file: `make()` returns a new one under os.tmpdir() named `<prefix>XXXXXX`;
 * all are removed after the file's tests (afterAll), or after each test when `{ after: "each" }`.
 *
 * It registers a vitest hook, so call it at module top level or inside a `describe` (whose tests it then covers), never
 * inside a test.
 */
export function tempDirs(prefix: string, options?: { after?: "all" | "each" }): () => string {
  const made: string[] = [];
  const removeAll = (): void => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  };
  if (options?.after === "each") afterEach(removeAll);
  else afterAll(removeAll);
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
