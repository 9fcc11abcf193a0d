/** Test helper of the policy suites: decide one flow, with defaults, against a config. */
import { compilePolicy } from "./compile.js";
import { decideFlow } from "./evaluate.js";
import type { FlowRequest, NetworkConfig, PolicyDecision } from "./types.js";

/** A flow with defaults (outbound TCP to port 443); `port: undefined` removes the port (ICMP). */
export type FlowInput = { readonly address: string } & {
  readonly [K in Exclude<keyof FlowRequest, "address">]?: FlowRequest[K] | undefined;
};

/** Compiles `config` and decides the flow `input` describes. */
export function decide(config: NetworkConfig, input: FlowInput): PolicyDecision {
  const port = "port" in input ? input.port : 443;
  const flow: FlowRequest = {
    direction: input.direction ?? "outbound",
    protocol: input.protocol ?? "tcp",
    address: input.address,
    ...(port === undefined ? {} : { port }),
    ...(input.names === undefined ? {} : { names: input.names }),
  };
  return decideFlow(compilePolicy(config), flow);
}
