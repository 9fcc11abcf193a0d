/**
 * What an `error` reply stands for. An error the supervisor raised itself travels whole in the reply's `error`
 * (class and fields, see `wire-error.ts`); only an agent's errno-style reply needs the caller's mapping.
 */
import type { ErrorMessage } from "../protocol/messages.js";
import { fromWireError } from "../wire-error.js";

/** Maps an agent's `error` reply to the error the caller sees. */
export type ReplyError = (message: ErrorMessage) => Error;

/** The error of `reply`: the supervisor's own typed error when it carries one, else `toError(reply)`. */
export function errorOfReply(reply: ErrorMessage, toError: ReplyError): Error {
  return reply.error !== undefined ? fromWireError(reply.error) : toError(reply);
}
