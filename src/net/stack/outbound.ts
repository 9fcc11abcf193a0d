/**
 * The decision on a guest SYN: DNS (port 53, any address) is answered by our resolver; the stack's own
 * addresses own no other port (RST); everything else is asked of the policy and, when allowed, connected from a
 * host socket. A denial is an RST at once.
 *
 * @packageDocumentation
 */
import type { TcpFlowId } from "../tcp/types.js";
import type { StackContext } from "./context.js";
import { DnsTcpEndpoint } from "./dns-tcp.js";
import { type OutboundTarget, SocketBridge } from "./socket-bridge.js";
import { IGNORING_ENDPOINT, type TcpEndpoint, type TcpHandle } from "./tcp-endpoint.js";

/** Decides a guest connection and returns its host side. */
export function connectOutbound(
  ctx: StackContext,
  host: Pick<OutboundTarget, "connectTimeoutMs" | "readBuffer">,
  flow: TcpFlowId,
  remote: number,
  handle: TcpHandle,
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
  const decision = ctx.decide("outbound", "tcp", flow.remoteAddress, flow.remotePort);
  if (decision.action === "deny") {
    handle.refuse();
    return IGNORING_ENDPOINT;
  }
  return SocketBridge.connect(handle, { ...host, host: flow.remoteAddress, port: flow.remotePort });
}
