/**
 * The supervisor's side of secrets: the guard of the network stack, built from the spec's secrets (values
 * included, received on stdin), logging into the sandbox's supervisor log (names and hosts, never values), and
 * stopping the sandbox on a `block-and-terminate` violation.
 *
 * @packageDocumentation
 */
import type { JsonLogger } from "../logs/logger.js";
import { SecretGuard } from "../secrets/guard.js";
import type { SupervisorSpec } from "./spec.js";

/** The guard for `spec`, or undefined when the sandbox has no secrets. */
export function secretGuardFor(
  spec: Pick<SupervisorSpec, "secrets">,
  log: JsonLogger,
  stop: (reason: string) => void,
): SecretGuard | undefined {
  const secrets = spec.secrets ?? [];
  if (secrets.length === 0) return undefined;
  log.info("secrets guard on", { secrets: secrets.map((s) => s.envVar) });
  return new SecretGuard({
    secrets,
    log: (level, message, fields) => {
      log.log(level, message, fields);
    },
    terminate: stop,
  });
}
