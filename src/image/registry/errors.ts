/** Maps registry and network failures to microsandbox's typed errors, with the reference being pulled. */
import { ImageNotFoundError, ImagePullError, MsbError, RegistryAuthError } from "../../errors.js";
import { ShapeError } from "../json-shape.js";
import { RegistryHttpError } from "./client.js";
import type { Endpoint } from "./endpoints.js";
import { BodyTooLargeError } from "./http.js";

/** What was being pulled, from where. */
export interface PullErrorContext {
  /** The reference as the user should read it (`python:3.12`). */
  readonly reference: string;
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | undefined;
  readonly endpoint: Endpoint;
}

/** Turns any failure of a pull into an {@link MsbError} (typed errors pass through unchanged). */
export function toPullError(error: unknown, ctx: PullErrorContext): MsbError {
  if (error instanceof MsbError) return error;
  const where = ctx.endpoint.mirror ? `mirror ${ctx.endpoint.baseUrl}` : ctx.registry;
  if (error instanceof RegistryHttpError) {
    if (error.status === 404 && error.registryCode !== "BLOB_UNKNOWN") {
      const what =
        error.registryCode === "NAME_UNKNOWN"
          ? `repository ${ctx.repository} not found on ${where}`
          : ctx.tag === undefined
            ? `manifest of ${ctx.reference} not found on ${where}`
            : `tag ${JSON.stringify(ctx.tag)} not found in ${ctx.repository} on ${where}`;
      return new ImageNotFoundError(ctx.reference, `${ctx.reference}: ${what}`, { cause: error });
    }
    if (error.status === 401 || error.status === 403) {
      return new RegistryAuthError(
        ctx.registry,
        `${where} denied access to ${ctx.repository}: ${error.message}`,
        { cause: error },
      );
    }
    return new ImagePullError(ctx.reference, `${where}: ${error.message}`, { cause: error });
  }
  if (error instanceof ShapeError)
    return new ImagePullError(ctx.reference, `${where} sent an invalid document: ${error.message}`, {
      cause: error,
    });
  if (error instanceof BodyTooLargeError)
    return new ImagePullError(ctx.reference, error.message, { cause: error });
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  return new ImagePullError(
    ctx.reference,
    `cannot download from ${ctx.endpoint.baseUrl}${typeof code === "string" ? ` (${code})` : ""}: ${detail}`,
    {
      cause: error,
    },
  );
}

/** Combines the failures of several endpoints (mirrors, then the registry) into one error. */
export function combineEndpointErrors(
  reference: string,
  failures: readonly { endpoint: Endpoint; error: MsbError }[],
): MsbError {
  const last = failures.at(-1)?.error;
  if (last === undefined) return new ImagePullError(reference, "no endpoint to pull from");
  if (failures.length === 1) return last;
  const summary = failures.map((f) => `${f.endpoint.baseUrl}: ${bareMessage(f.error)}`).join("; ");
  const cause = new AggregateError(
    failures.map((f) => f.error),
    summary,
  );
  if (failures.every((f) => f.error instanceof ImageNotFoundError))
    return new ImageNotFoundError(reference, summary, { cause });
  return new ImagePullError(reference, summary, { cause });
}

/** The message of an {@link MsbError} without the hint MsbError appends to it. */
export function bareMessage(error: MsbError): string {
  const suffix = error.hint === undefined ? "" : ` (${error.hint})`;
  return suffix !== "" && error.message.endsWith(suffix)
    ? error.message.slice(0, -suffix.length)
    : error.message;
}
