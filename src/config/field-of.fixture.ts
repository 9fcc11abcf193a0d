/** Test helper: the `field` of the {@link InvalidConfigError} that `run` throws, or undefined if it succeeds. */
import { InvalidConfigError } from "../errors.js";

export function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof InvalidConfigError) return err.field;
    throw err;
  }
  return undefined;
}
