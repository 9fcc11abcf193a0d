/**
 * The decision on a guest SYN: DNS (port 53, any address) is answered by our resolver; the stack's own
 * addresses own no other port (RST); an intercepted TLS port goes to the TLS interception (decided on the
 * ClientHello's server name); everything else is asked of the policy and, when allowed, connected from a host
 * socket (through the plaintext relay when it asks for the destination). A denial is an RST at once.
 *
 * @packageDocumentation
 */
import type { TcpFlowId } from "../tcp/types.js";
import type { StackContext } from "./context.js";
import { DnsTcpEndpoint } from "./dns-tcp.js";
import { GuestStream } from "./guest-stream.js";
import { type RelayContext, relayPlainTcp } from "./relayed-flow.js";
import { type TlsInterception, interceptTls, namesCanAllow } from "./tls-intercept.js";
import { type OutboundTarget, SocketBridge } from "./socket-bridge.js";
import { IGNORING_ENDPOINT, type TcpEndpoint, type TcpHandle } from "./tcp-endpoint.js";

/** Decides a guest connection and returns its host side. */
export function connectOutbound(
  ctx: StackContext,
  host: Pick<OutboundTarget, "connectTimeoutMs" | "readBuffer">,
  flow: TcpFlowId,
  remote: number,
  handle: TcpHandle,
  inspection: { readonly interception?: TlsInterception; readonly relay?: RelayContext } = {},
): TcpEndpoint {
  if (flow.remotePort === 53) {
    const endpoint = new DnsTcpEndpoint(handle, ctx.resolver);
    handle.accept();
    return endpoint;
  }
  if (ctx.isLocal(remote)) {
    handle.refuse();
    return IGNORING_ENDPOINT;
  }
  const interception = inspection.interception;
  if (interception?.tls.interceptedPorts.has(flow.remotePort) === true) {
    // Refused at once when no server name could change the answer (no allow rule names a domain).
    if (!namesCanAllow(ctx.policy)) {
      const early = ctx.decide("outbound", "tcp", flow.remoteAddress, flow.remotePort);
      if (early.action === "deny") {
        handle.refuse();
        return IGNORING_ENDPOINT;
      }
    }
    return interceptTls(ctx, interception, flow, handle);
  }
  const decision = ctx.decide("outbound", "tcp", flow.remoteAddress, flow.remotePort);
  if (decision.action === "deny") {
    handle.refuse();
    return IGNORING_ENDPOINT;
  }
  const rc = inspection.relay;
  if (rc?.relay !== undefined) {
    const target = {
      address: flow.remoteAddress,
      port: flow.remotePort,
      names: ctx.namesFor("outbound", flow.remoteAddress),
    };
    if (rc.relay.wantsPlain(target)) {
      const stream = new GuestStream(handle);
      stream.on("error", () => undefined);
      relayPlainTcp(rc, stream, target);
      return stream.endpoint;
    }
  }
  return SocketBridge.connect(handle, { ...host, host: flow.remoteAddress, port: flow.remotePort });
}
