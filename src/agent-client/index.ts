/** Host-side client of the guest agent. */
export { AgentConnection } from "./connection.js";
export type { ConnectOptions } from "./connection.js";
export { AgentStream } from "./stream.js";
export type { OutputChannel, StreamListener } from "./stream.js";
export { ExecChannel, execError } from "./exec-channel.js";
export type { ExecEvent } from "./exec-channel.js";
export { collectExec, execCollect, execStartMessage, startExec } from "./exec.js";
export type { ExecRequest, ExecResult } from "./exec.js";
