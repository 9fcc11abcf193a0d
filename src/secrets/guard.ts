/**
 * The secrets guard: the {@link PlaintextRelay} the network stack hands every intercepted TLS connection and
 * every plain TCP connection of a sandbox with secrets. Each connection's protocol is picked by ALPN, else by
 * its first bytes (the HTTP/2 preface, an HTTP/1 request line, anything else is raw bytes), and its guest bytes
 * go through the matching rewriter: a placeholder becomes its value where the secret is allowed, and is a
 * violation everywhere else (the connection is blocked; `block-and-log` logs it; `block-and-terminate` also
 * stops the sandbox). Counters and log lines name secrets by their variable, never by value.
 *
 * @packageDocumentation
 */
import type { PlaintextRelay, RelayFlow, RelaySession, RelayVerdict } from "../net/tls/plaintext-relay.js";
import { refusalFor } from "./allow.js";
import type { ResolvedSecret } from "./config.js";
import { BufferBudget } from "./buffer-budget.js";
import { Http1RequestRewriter } from "./http1.js";
import { Http2RequestRewriter } from "./http2.js";
import { PlaceholderScanner } from "./scanner.js";
import { BlockSignal, render } from "./substitute.js";
import type { PlaceholderResolver } from "./substitute.js";

/** Where the guard reports (the supervisor's log). Fields never carry secret values. */
export type GuardLog = (
  level: "debug" | "info" | "warn",
  message: string,
  fields: Readonly<Record<string, string | number | boolean>>,
) => void;

/** What the guard needs. */
export interface SecretGuardOptions {
  readonly secrets: readonly ResolvedSecret[];
  readonly log: GuardLog;
  /** Stops the sandbox (`block-and-terminate`). */
  readonly terminate: (reason: string) => void;
  /** Request-body bytes held for substitution across all connections (default {@link GUARD_BUFFER_BUDGET}). */
  readonly bufferBudgetBytes?: number;
}

/** The guard's counters. */
export interface SecretGuardCounters {
  /** Connections whose bytes the guard inspected. */
  connections: number;
  /** Placeholders replaced by their values. */
  substituted: number;
  /** Placeholders bound for a host their secret is not allowed for (each blocked its connection). */
  violations: number;
  /** Connections blocked for another reason (malformed HTTP, a bound exceeded). */
  blocked: number;
}

interface Rewriter {
  push(chunk: Uint8Array): Uint8Array[];
  end(): Uint8Array[];
  fromUpstream?(chunk: Uint8Array): Uint8Array[];
  close?(): void;
}

/** Request bodies held in memory for substitution, across all of a guard's connections. */
export const GUARD_BUFFER_BUDGET = 64 * 1024 * 1024;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const TOKEN_BYTE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/;

/** Which protocol a connection's first bytes speak, or undefined while they could still be either. */
function sniff(head: Buffer): "h1" | "h2" | "raw" | undefined {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (head.subarray(0, n).equals(H2_PREFACE.subarray(0, n)))
    return n === H2_PREFACE.length ? "h2" : undefined;
  for (let i = 0; i < head.length && i < 24; i++) {
    const c = String.fromCharCode(head[i] ?? 0);
    if (c === " ") return i > 0 ? "h1" : "raw";
    if (!TOKEN_BYTE.test(c)) return "raw";
  }
  return head.length >= 24 ? "raw" : undefined;
}

/** The secrets guard of one sandbox. */
export class SecretGuard implements PlaintextRelay {
  readonly counters: SecretGuardCounters = { connections: 0, substituted: 0, violations: 0, blocked: 0 };
  readonly #options: SecretGuardOptions;
  readonly #placeholders: readonly Buffer[];
  readonly #values: readonly Buffer[];
  readonly #budget: BufferBudget;

  constructor(options: SecretGuardOptions) {
    this.#options = options;
    this.#budget = new BufferBudget(options.bufferBudgetBytes ?? GUARD_BUFFER_BUDGET);
    this.#placeholders = options.secrets.map((s) => Buffer.from(s.placeholder));
    this.#values = options.secrets.map((s) => Buffer.from(s.value));
  }

  /** Every plain connection too: a placeholder must be seen wherever it is sent. */
  wantsPlain(): boolean {
    return this.#placeholders.length > 0;
  }

  open(flow: RelayFlow): RelaySession | undefined {
    if (this.#placeholders.length === 0) return undefined;
    this.counters.connections++;
    return new GuardSession(
      flow,
      (resolve) => this.#rewriterFor(resolve),
      this.#resolverFor(flow),
      (signal) => this.#blocked(flow, signal),
    );
  }

  #rewriterFor(resolve: PlaceholderResolver): (kind: "h1" | "h2" | "raw") => Rewriter {
    return (kind) => {
      if (kind === "h1") return new Http1RequestRewriter(this.#placeholders, resolve, this.#budget);
      if (kind === "h2") return new Http2RequestRewriter(this.#placeholders, resolve);
      const scanner = new PlaceholderScanner(this.#placeholders);
      return {
        push: (chunk) => render(scanner.push(chunk), resolve).map((c) => Buffer.from(c)),
        end: () => render(scanner.end(), resolve),
      };
    };
  }

  #resolverFor(flow: RelayFlow): PlaceholderResolver {
    return (index) => {
      const secret = this.#options.secrets[index];
      const value = this.#values[index];
      if (secret === undefined || value === undefined) throw new BlockSignal("unknown placeholder");
      const refusal = refusalFor(secret, flow);
      if (refusal !== undefined) {
        throw new BlockSignal(
          `the placeholder of ${secret.envVar} was sent to ${flow.host}:${flow.port}: ${refusal}`,
          index,
        );
      }
      this.counters.substituted++;
      this.#options.log("debug", "secret substituted", {
        secret: secret.envVar,
        host: flow.host,
        port: flow.port,
      });
      return value;
    };
  }

  /** Counts, logs and acts on a block; returns the verdict. */
  #blocked(flow: RelayFlow, signal: BlockSignal): RelayVerdict {
    const secret = signal.secret === undefined ? undefined : this.#options.secrets[signal.secret];
    const fields = { host: flow.host, address: flow.address, port: flow.port, tls: flow.tls };
    if (secret === undefined) {
      this.counters.blocked++;
      this.#options.log("info", "connection blocked by the secrets guard", {
        ...fields,
        reason: signal.reason,
      });
      return { block: signal.reason };
    }
    this.counters.violations++;
    const level = secret.onViolation === "block" ? "debug" : "warn";
    this.#options.log(level, "secret violation blocked", {
      ...fields,
      secret: secret.envVar,
      action: secret.onViolation,
      reason: signal.reason,
    });
    if (secret.onViolation === "block-and-terminate") {
      this.#options.terminate(`secret violation: ${secret.envVar} sent to ${flow.host}`);
    }
    return { block: signal.reason };
  }
}

/** One inspected connection. */
class GuardSession implements RelaySession {
  readonly #make: (kind: "h1" | "h2" | "raw") => Rewriter;
  readonly #onBlock: (signal: BlockSignal) => RelayVerdict;
  #rewriter: Rewriter | undefined;
  #head: Buffer = Buffer.alloc(0);
  #verdict: RelayVerdict | undefined;

  constructor(
    flow: RelayFlow,
    make: (resolve: PlaceholderResolver) => (kind: "h1" | "h2" | "raw") => Rewriter,
    resolve: PlaceholderResolver,
    onBlock: (signal: BlockSignal) => RelayVerdict,
  ) {
    this.#make = make(resolve);
    this.#onBlock = onBlock;
    if (flow.alpn === "h2") this.#rewriter = this.#make("h2");
    else if (flow.alpn === "http/1.1") this.#rewriter = this.#make("h1");
  }

  fromGuest(chunk: Uint8Array): RelayVerdict {
    return this.#guarded(() => {
      if (this.#rewriter !== undefined) return this.#rewriter.push(chunk);
      this.#head = Buffer.concat([this.#head, chunk]);
      const kind = sniff(this.#head);
      if (kind === undefined) return [];
      this.#rewriter = this.#make(kind);
      const head = this.#head;
      this.#head = Buffer.alloc(0);
      return this.#rewriter.push(head);
    });
  }

  endFromGuest(): RelayVerdict {
    return this.#guarded(() => {
      if (this.#rewriter === undefined && this.#head.length > 0) this.#rewriter = this.#make("raw");
      const out = this.#rewriter === undefined ? [] : this.#rewriter.push(this.#head);
      this.#head = Buffer.alloc(0);
      return [...out, ...(this.#rewriter?.end() ?? [])];
    });
  }

  fromUpstream(chunk: Uint8Array): RelayVerdict {
    if (this.#verdict !== undefined) return this.#verdict;
    const rewriter = this.#rewriter;
    if (rewriter?.fromUpstream === undefined) return { forward: [chunk] };
    return this.#guarded(() => rewriter.fromUpstream?.(chunk) ?? [chunk]);
  }

  close(): void {
    this.#rewriter?.close?.();
    this.#rewriter = undefined;
    this.#head = Buffer.alloc(0);
  }

  #guarded(run: () => Uint8Array[]): RelayVerdict {
    if (this.#verdict !== undefined) return this.#verdict;
    try {
      return { forward: run() };
    } catch (err) {
      if (!(err instanceof BlockSignal)) throw err;
      this.#verdict = this.#onBlock(err);
      return this.#verdict;
    }
  }
}
