/**
 * A guest connection to an intercepted port (`network.tls.interceptedPorts`): accepted at once, its ClientHello
 * read (bounded, with a timeout) before anything goes upstream, the policy decided on the server name (domain
 * rules see the SNI first, then the names the resolver learned), then one of:
 * - denied: reset;
 * - bypassed name: spliced untouched to the original destination;
 * - otherwise: upstream TLS to the original address with servername = SNI (verified against the host's trust
 *   store and the upstream CAs unless `verifyUpstream` is false; a failure refuses the guest), then the guest's
 *   TLS terminated with a leaf minted for the name, ALPN limited to what upstream agreed, and the plaintext
 *   joined through the relay's session.
 * Bytes that are not a ClientHello are relayed as plain TCP (decided on the address).
 *
 * @packageDocumentation
 */
import { isIP } from "node:net";
import type { SecureContext } from "node:tls";
import type * as Tls from "node:tls";
import { LazyModule } from "../../os/lazy-module.js";
import { type ClientHello, MAX_CLIENT_HELLO_BYTES, parseClientHello } from "../tls/client-hello.js";
import { type CompiledTls, isBypassed } from "../tls/config.js";
import type { LeafMinter } from "../tls/leaf-minter.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { TcpFlowId } from "../tcp/types.js";
import type { StackContext } from "./context.js";
import { GuestStream } from "./guest-stream.js";
import { type RelayContext, connectPlain, plainFlow, relayPlaintext } from "./relayed-flow.js";
import { pump } from "./pump.js";
import type { TcpEndpoint, TcpHandle } from "./tcp-endpoint.js";

/** Node's TLS module, loaded with the first intercepted connection (see `lazy-module.ts`). */
const tls = new LazyModule<typeof Tls>("node:tls");

/** ALPN protocols passed through interception (others are not offered upstream). */
const PASSED_ALPN = new Set(["h2", "http/1.1"]);

/** Interception settings of one stack. */
export interface TlsInterception extends RelayContext {
  readonly tls: CompiledTls;
  readonly minter: LeafMinter;
  /** Trust for upstream certificates: the host's store plus the upstream CAs. */
  readonly upstreamTrust: SecureContext;
  /** The guest must send its ClientHello within this (default 10 s). */
  readonly helloTimeoutMs: number;
  /** Each TLS handshake (upstream, then guest) must finish within this (default 10 s). */
  readonly handshakeTimeoutMs: number;
}

/** True when some allow rule names a domain: then a TLS server name can turn an address's denial into an allow. */
export function namesCanAllow(policy: CompiledPolicy): boolean {
  return policy.rules.some(
    (rule) =>
      rule.action === "allow" && (rule.destination.kind === "domain" || rule.destination.kind === "suffix"),
  );
}

/** Takes a guest SYN to an intercepted port (already allowed to exist: not DNS, not the stack's addresses). */
export function interceptTls(
  ctx: StackContext,
  interception: TlsInterception,
  flow: TcpFlowId,
  handle: TcpHandle,
): TcpEndpoint {
  const stream = new GuestStream(handle);
  stream.on("error", () => undefined);
  const target = { address: flow.remoteAddress, port: flow.remotePort };
  readHello(stream, interception.helloTimeoutMs, (hello, reason) => {
    if (hello === undefined) {
      interception.counters.tlsNotTls++;
      plain(ctx, interception, stream, target, reason);
    } else decide(ctx, interception, stream, target, hello);
  });
  handle.accept();
  return stream.endpoint;
}

/** Gathers guest bytes until a ClientHello parses (or cannot), then puts them back and calls `done`. */
function readHello(
  stream: GuestStream,
  timeoutMs: number,
  done: (hello: ClientHello | undefined, reason: string) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const finish = (hello: ClientHello | undefined, reason: string): void => {
    clearTimeout(timer);
    stream.off("data", onData);
    stream.off("end", onEnd);
    stream.off("close", onClose);
    if (stream.destroyed) return; // the guest reset: nothing goes upstream
    stream.pause();
    if (size > 0) stream.unshift(Buffer.concat(chunks, size));
    done(hello, reason);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    const result = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks, size));
    if (result.kind === "hello") finish(result.hello, "");
    else if (result.kind === "invalid") finish(undefined, result.reason);
    else if (size >= MAX_CLIENT_HELLO_BYTES) finish(undefined, "hello too long");
  };
  const onEnd = (): void => {
    finish(undefined, "the guest ended before a hello");
  };
  const onClose = (): void => {
    finish(undefined, "the guest connection closed");
  };
  const timer = setTimeout(() => {
    finish(undefined, "no hello in time");
  }, timeoutMs);
  timer.unref();
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("close", onClose);
}

type Target = { readonly address: string; readonly port: number };

function decide(
  ctx: StackContext,
  ic: TlsInterception,
  stream: GuestStream,
  target: Target,
  hello: ClientHello,
): void {
  const sni = hello.serverName;
  const names = ctx.namesFor("outbound", target.address, sni === undefined ? [] : [sni]);
  const decision = ctx.decide("outbound", "tcp", target.address, target.port, names);
  const fields = { sni: sni ?? null, address: target.address, port: target.port };
  if (decision.action === "deny") {
    ic.counters.tlsSniDenied++;
    ic.log("warn", "TLS connection denied", { ...fields, reason: decision.reason });
    stream.destroy();
    return;
  }
  if (isBypassed(ic.tls, sni)) {
    ic.counters.tlsBypassed++;
    ic.log("debug", "TLS bypassed", fields);
    connectPlain(target.address, target.port, ic.connectTimeoutMs, {
      onConnect: (socket) => {
        pump({ guest: stream, guestRaw: stream, upstream: socket, session: undefined });
        stream.resume();
      },
      onFail: () => stream.destroy(),
    });
    return;
  }
  intercept(ic, stream, target, hello, names);
}

function intercept(
  ic: TlsInterception,
  stream: GuestStream,
  target: Target,
  hello: ClientHello,
  names: readonly string[],
): void {
  const sni = hello.serverName;
  const fields = { sni: sni ?? null, address: target.address, port: target.port };
  const alpn = hello.alpn.filter((p) => PASSED_ALPN.has(p));
  const upstream = tls.get().connect({
    host: target.address,
    port: target.port,
    ...(sni === undefined || isIP(sni) !== 0 ? {} : { servername: sni }),
    ...(alpn.length === 0 ? {} : { ALPNProtocols: alpn }),
    secureContext: ic.upstreamTrust,
    rejectUnauthorized: false,
  });
  const fail = (what: string, error: unknown): void => {
    ic.counters.tlsHandshakeFailed++;
    ic.log("warn", `TLS ${what} failed`, { ...fields, error: String(error) });
    upstream.destroy();
    stream.destroy();
  };
  const timer = setTimeout(() => {
    fail("handshake", "timed out");
  }, ic.handshakeTimeoutMs + ic.connectTimeoutMs);
  timer.unref();
  upstream.once("error", (error) => {
    clearTimeout(timer);
    fail("upstream handshake", error);
  });
  upstream.once("secureConnect", () => {
    if (ic.tls.verifyUpstream && !upstream.authorized) {
      clearTimeout(timer);
      ic.counters.tlsUpstreamVerifyFailed++;
      ic.log("warn", "upstream certificate rejected", {
        ...fields,
        error: String(upstream.authorizationError),
      });
      upstream.destroy();
      stream.destroy();
      return;
    }
    const agreed = typeof upstream.alpnProtocol === "string" ? upstream.alpnProtocol : undefined;
    ic.minter.context(sni ?? target.address).then(
      (secureContext) => {
        const guest = new (tls.get().TLSSocket)(stream, {
          isServer: true,
          secureContext,
          ...(agreed === undefined ? {} : { ALPNProtocols: [agreed] }),
        });
        guest.once("error", (error) => {
          clearTimeout(timer);
          fail("guest handshake", error);
        });
        guest.once("secure", () => {
          clearTimeout(timer);
          ic.counters.tlsIntercepted++;
          ic.log("debug", "TLS intercepted", {
            ...fields,
            alpn: agreed ?? null,
            verified: upstream.authorized,
          });
          relayPlaintext(
            ic,
            { guest, guestRaw: stream, upstream },
            {
              host: sni ?? target.address,
              names,
              address: target.address,
              port: target.port,
              tls: true,
              upstreamVerified: upstream.authorized,
              alpn: agreed,
            },
          );
        });
        stream.resume();
      },
      (error: unknown) => {
        clearTimeout(timer);
        fail("leaf certificate", error);
      },
    );
  });
}

/** A connection to an intercepted port that is not TLS: decided on the address, relayed as plain TCP. */
function plain(
  ctx: StackContext,
  ic: TlsInterception,
  stream: GuestStream,
  target: Target,
  why: string,
): void {
  const decision = ctx.decide("outbound", "tcp", target.address, target.port);
  ic.log("debug", "not TLS on an intercepted port", { address: target.address, port: target.port, why });
  if (decision.action === "deny") {
    stream.destroy();
    return;
  }
  const names = ctx.namesFor("outbound", target.address);
  const flow = plainFlow({ ...target, names });
  const wanted = ic.relay?.wantsPlain(flow) ?? false;
  connectPlain(target.address, target.port, ic.connectTimeoutMs, {
    onConnect: (socket) => {
      if (wanted) relayPlaintext(ic, { guest: stream, guestRaw: stream, upstream: socket }, flow);
      else pump({ guest: stream, guestRaw: stream, upstream: socket, session: undefined });
      stream.resume();
    },
    onFail: () => stream.destroy(),
  });
}
