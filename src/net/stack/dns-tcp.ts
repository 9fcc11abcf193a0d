/**
 * DNS over TCP from the guest (port 53, any address), answered by the sandbox's resolver: 2-byte length
 * prefixed messages, answered in order of completion. Bounded: at most 4 queries in flight and 128 KiB of
 * buffered guest bytes, or the connection is reset.
 *
 * @packageDocumentation
 */
import type { DnsResolver } from "../dns/resolver.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

const MAX_BUFFERED = 128 * 1024;
const MAX_IN_FLIGHT = 4;

/** One guest DNS-over-TCP connection. */
export class DnsTcpEndpoint implements TcpEndpoint {
  readonly #handle: TcpHandle;
  readonly #resolver: DnsResolver;
  #input: Buffer = Buffer.alloc(0);
  readonly #output: Buffer[] = [];
  #inFlight = 0;
  #guestEnded = false;
  #closed = false;

  constructor(handle: TcpHandle, resolver: DnsResolver) {
    this.#handle = handle;
    this.#resolver = resolver;
  }

  established(): void {
    // Nothing to start: queries come from the guest.
  }

  data(bytes: Uint8Array): void {
    this.#input = Buffer.concat([this.#input, bytes]);
    if (this.#input.length > MAX_BUFFERED) {
      this.#handle.abort();
      return;
    }
    this.#handle.consumed(bytes.length);
    this.#parse();
  }

  end(): void {
    this.#guestEnded = true;
    this.#flush();
  }

  writable(): void {
    this.#flush();
  }

  closed(): void {
    this.#closed = true;
  }

  #parse(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#input.length >= 2) {
      const length = this.#input.readUInt16BE(0);
      if (this.#input.length < 2 + length) return;
      const query = Buffer.from(this.#input.subarray(2, 2 + length));
      this.#input = this.#input.subarray(2 + length);
      this.#inFlight++;
      void this.#resolver.answer(query, "tcp").then((answer) => {
        this.#inFlight--;
        if (this.#closed) return;
        if (answer !== undefined) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(answer.length);
          this.#output.push(prefix, answer);
        }
        this.#parse();
        this.#flush();
      });
    }
  }

  #flush(): void {
    while (this.#output.length > 0 && !this.#closed) {
      const head = this.#output[0];
      if (head === undefined) break;
      const taken = this.#handle.write(head);
      if (taken < head.length) {
        this.#output[0] = head.subarray(taken);
        return;
      }
      this.#output.shift();
    }
    if (this.#guestEnded && this.#inFlight === 0 && this.#output.length === 0 && !this.#closed) {
      this.#handle.close();
    }
  }
}
