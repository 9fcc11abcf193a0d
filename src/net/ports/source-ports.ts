/**
 * Source ports on the gateway side for inbound flows (published ports): the guest sees each host client as
 * `gateway:port`. Chosen round-robin from the ephemeral range, skipping ports in use.
 *
 * @packageDocumentation
 */

const FIRST = 32768;
const LAST = 60999;

/** Hands out gateway-side source ports. */
export class SourcePorts {
  #next = FIRST;

  /** A port for which `inUse` is false, or undefined when every port is taken. */
  take(inUse: (port: number) => boolean): number | undefined {
    for (let i = 0; i <= LAST - FIRST; i++) {
      const port = this.#next;
      this.#next = port === LAST ? FIRST : port + 1;
      if (!inUse(port)) return port;
    }
    return undefined;
  }
}
