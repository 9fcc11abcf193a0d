/**
 * Modules loaded on first use rather than at import. The supervisor starts on every `Sandbox.create`, and a
 * module that only some sandboxes need (the DNS codec: once the guest asks a name; TLS: only with interception)
 * should not add its load time to every start.
 *
 * @packageDocumentation
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/** A module loaded by its first {@link LazyModule.get}; later calls return that same module. */
export class LazyModule<T> {
  #loaded: T | undefined;

  /** `id` is what `require` takes: a package name or a `node:` builtin. */
  constructor(readonly id: string) {}

  /** The module, loaded now if it was not yet (a missing module throws here, at first use). */
  get(): T {
    return (this.#loaded ??= load(this.id) as T);
  }
}
