/**
 * The operation table: the one list of messages (with the fields each may carry) and operations (opening
 * message, handler, feature, follow-ups, replies, terminal replies) shared by the SDK, the supervisor and the Go
 * agent. Its source is `protocol/operations.json`; the agent's Go table is checked against the same file.
 */
import table from "../../protocol/operations.json" with { type: "json" };

/** Who answers an operation: the guest agent (relayed by the supervisor) or the supervisor itself. */
export type OperationHandler = "agent" | "supervisor";

/** A follow-up message the host may send on an open stream, and the HELLO feature that gates it. */
export interface FollowUpSpec {
  readonly type: string;
  readonly feature: string;
}

/** One row of the table. */
export interface OperationSpec {
  /** Type of the opening message. */
  readonly open: string;
  readonly handler: OperationHandler;
  /** HELLO feature the peer must list (null: every peer has it). */
  readonly feature: string | null;
  /** Whether SDK clients may open it through the supervisor. */
  readonly clients: boolean;
  readonly followUps: readonly FollowUpSpec[];
  /** Non-terminal replies. */
  readonly replies: readonly string[];
  /** Replies that end the stream (besides `error`, which ends every operation). */
  readonly terminal: readonly string[];
  /** Whether the host sends STDIN data on the stream. */
  readonly input: boolean;
  /** Whether the peer sends STDOUT/STDERR data on the stream. */
  readonly output: boolean;
}

/** A message of the table: which side sends it and the fields it may carry (besides `type`). */
export interface MessageSpec {
  readonly from: "host" | "agent";
  readonly fields: readonly string[];
}

interface Table {
  readonly maxControlMessage: number;
  readonly maxStreamsPerSession: number;
  readonly messages: Readonly<Record<string, MessageSpec>>;
  readonly operations: readonly OperationSpec[];
  readonly agentFeatures: readonly string[];
}

const TABLE = table as Table;

/** Messages by type. */
export const MESSAGES: ReadonlyMap<string, MessageSpec> = new Map(Object.entries(TABLE.messages));

/** Operations by opening message type. */
export const OPERATIONS: ReadonlyMap<string, OperationSpec> = new Map(
  TABLE.operations.map((op) => [op.open, op]),
);

/** Most operations one session may have open at once; one more is refused (`EAGAIN`). */
export const MAX_STREAMS_PER_SESSION = TABLE.maxStreamsPerSession;

/** The features a current agent lists in its HELLO. */
export const AGENT_FEATURES: readonly string[] = TABLE.agentFeatures;

/** Features the supervisor adds to the agent's when it greets SDK clients: its own `sup.*` operations. */
export const SUPERVISOR_FEATURES: readonly string[] = TABLE.operations
  .filter((op) => op.handler === "supervisor" && op.feature !== null)
  .map((op) => op.feature as string);

/** The row of the operation opened by `type`, if there is one. */
export function operationOf(type: string): OperationSpec | undefined {
  return OPERATIONS.get(type);
}

/** True when `type` ends a stream of `op` (its terminal replies, or `error`). */
export function isTerminal(op: OperationSpec, type: string): boolean {
  return type === "error" || op.terminal.includes(type);
}

/** True when the peer may send `type` on a stream of `op`. */
export function isReplyOf(op: OperationSpec, type: string): boolean {
  return isTerminal(op, type) || op.replies.includes(type);
}

/** The follow-up row of `type` on a stream of `op`, if `op` allows it. */
export function followUpOf(op: OperationSpec, type: string): FollowUpSpec | undefined {
  return op.followUps.find((f) => f.type === type);
}
