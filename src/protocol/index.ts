/** Host side of the host ↔ agent protocol. See `protocol/PROTOCOL.md`. */
export * from "./constants.js";
export * from "./frame.js";
export * from "./messages.js";
export * from "./operations.js";
